"""``.ci/install-system-deps``, the first step of ``make test``: what it decides on each kind of machine.

Nothing is installed: ``apt-get``, ``dpkg-query``, ``id`` and ``sudo`` are fakes on a PATH of their
own that record their calls; ``make test`` and ``.ci/run`` are shown to stop at that step.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = ".ci/install-system-deps"
EVERY_PACKAGE = ["chromium", "chromium-driver", "redis-server", "wrk", "curl", "openssl"]
BASH = shutil.which("bash")

FAKES = {
    "dpkg-query": """
        for package in "$@"; do :; done  # the last argument
        while read -r line; do
            [ "$line" = "$package" ] && { printf 'install ok installed'; exit 0; }
        done < "$FAKE/installed"
        exit 1
    """,
    "apt-get": """
        echo "apt-get $* (uid $(id -u))" >> "$FAKE/calls"
        [ -e "$FAKE/apt-fails" ] && { echo "E: Unable to fetch" >&2; exit 100; }
        if [ "$1" = install ] && [ ! -e "$FAKE/apt-installs-nothing" ]; then
            for word in "$@"; do
                case "$word" in install | -*) ;; *) echo "$word" >> "$FAKE/installed" ;; esac
            done
        fi
        exit 0
    """,
    "id": '[ -n "${AS_ROOT:-}" ] && echo 0 || cat "$FAKE/uid"',
    "sudo": """
        echo "sudo $*" >> "$FAKE/calls"
        [ "$1" = -n ] || { echo "sudo: a password is required" >&2; exit 1; }
        [ -e "$FAKE/sudo-passwordless" ] || { echo "sudo: a password is required" >&2; exit 1; }
        shift
        AS_ROOT=1 exec "$@"
    """,
}
REAL_TOOLS = ("env", "cat", "bash", "true", "dirname", "make", "find", "sh")  # run by the script, fakes, make


@dataclass
class Machine:
    """A fake machine: which packages are installed, who runs, whether sudo and apt-get exist."""

    root: Path

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.bin.mkdir()
        for tool in REAL_TOOLS:
            found = shutil.which(tool)
            if found:
                (self.bin / tool).symlink_to(found)
        for name, body in FAKES.items():
            fake = self.bin / name
            fake.write_text(f"#!{BASH}\n{body}")
            fake.chmod(0o755)
        (self.root / "installed").write_text("")
        (self.root / "calls").write_text("")
        self.uid(1000)

    def uid(self, uid: int) -> None:
        (self.root / "uid").write_text(f"{uid}\n")

    def install(self, *packages: str) -> None:
        with (self.root / "installed").open("a") as installed:
            installed.writelines(f"{p}\n" for p in packages)

    def flag(self, name: str) -> None:
        (self.root / name).touch()

    def remove(self, tool: str) -> None:
        (self.bin / tool).unlink()

    @property
    def calls(self) -> list[str]:
        return (self.root / "calls").read_text().splitlines()

    @property
    def installed(self) -> list[str]:
        return (self.root / "installed").read_text().split()

    def run(self, *command: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
        environment = {"PATH": str(self.bin), "FAKE": str(self.root), "HOME": str(self.root)}
        return subprocess.run(list(command), cwd=cwd, env=environment, capture_output=True, text=True,
                              timeout=60)


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path)


def test_nothing_to_do_when_every_package_is_installed(machine):
    machine.install(*EVERY_PACKAGE)
    done = machine.run(SCRIPT)
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stderr
    assert machine.calls == []


def test_root_installs_only_what_is_missing(machine):
    machine.uid(0)
    machine.install("chromium", "chromium-driver", "curl", "openssl")
    done = machine.run(SCRIPT)
    assert done.returncode == 0, done.stderr
    assert machine.calls == ["apt-get update -qq (uid 0)", "apt-get install -y -qq redis-server wrk (uid 0)"]
    assert sorted(machine.installed) == sorted(EVERY_PACKAGE)
    assert "installed redis-server wrk" in done.stderr


def test_sudo_without_a_password_installs_as_root(machine):
    machine.flag("sudo-passwordless")
    done = machine.run(SCRIPT)
    assert done.returncode == 0, done.stderr
    assert machine.calls[0] == "sudo -n true"
    assert machine.calls[1:] == [
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq", "apt-get update -qq (uid 0)",
        f"sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {' '.join(EVERY_PACKAGE)}",
        f"apt-get install -y -qq {' '.join(EVERY_PACKAGE)} (uid 0)"]
    assert sorted(machine.installed) == sorted(EVERY_PACKAGE)


def test_sudo_asking_for_a_password_stops_with_the_one_command(machine):
    machine.install("chromium", "chromium-driver", "curl", "openssl")
    done = machine.run(SCRIPT)
    assert done.returncode == 1
    assert machine.calls == ["sudo -n true"]  # asked whether a password is needed, never prompted
    assert "cannot install redis-server wrk" in done.stderr
    assert done.stderr.splitlines()[-1].strip() == "sudo .ci/install-system-deps"


def test_without_root_nor_sudo_it_stops_with_the_command_for_root(machine):
    machine.remove("sudo")
    done = machine.run(SCRIPT)
    assert done.returncode == 1
    assert machine.calls == []
    assert done.stderr.splitlines()[-1].strip() == f"su root -c '{REPO}/.ci/install-system-deps'"


def test_without_apt_get_it_stops_and_names_the_packages(machine):
    machine.remove("apt-get")
    machine.uid(0)
    done = machine.run(SCRIPT)
    assert done.returncode == 1
    assert f"cannot install {' '.join(EVERY_PACKAGE)}" in done.stderr
    assert done.stderr.splitlines()[-1].strip() == "make install-test && .venv/bin/pytest -p no:cacheprovider"


@pytest.mark.parametrize("failure", ["apt-fails", "apt-installs-nothing"])
def test_an_install_that_fails_stops(machine, failure):
    machine.uid(0)
    machine.flag(failure)
    done = machine.run(SCRIPT)
    assert done.returncode == 1
    assert "the tests need them" in done.stderr.splitlines()[-1]


def test_packages_named_as_arguments_are_the_only_ones_looked_at(machine):
    machine.install("wrk")
    done = machine.run(SCRIPT, "wrk", "redis-server")
    assert done.returncode == 1
    assert "cannot install redis-server," in done.stderr
    assert done.stderr.splitlines()[-1].strip() == "sudo .ci/install-system-deps wrk redis-server"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("command", [["make", "test"], [".ci/run"]])
def test_make_test_and_ci_run_stop_at_that_step_before_setting_anything_up(machine, tmp_path, command):
    machine.remove("sudo")
    venv = tmp_path / "venv"
    done = machine.run(*command, f"VENV={venv}") if command[0] == "make" else machine.run(*command)
    assert done.returncode != 0
    assert "cannot install" in done.stderr and "su root -c" in done.stderr
    assert not venv.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_runs_that_step_first_then_the_suite(machine, tmp_path):
    steps = machine.run("make", "--dry-run", "test", f"VENV={tmp_path / 'venv'}").stdout.splitlines()
    assert steps[0] == SCRIPT, steps
    assert "pytest" in steps[-1]
