"""The Dockerfile's own commands, run outside Docker (CI has no engine).

The build stage is replayed instruction by instruction (WORKDIR, ENV, COPY from the
repository with .dockerignore's exclusions, RUN), the image's CMD is started with the
final stage's ENV, and its HEALTHCHECK command is run against it, in plain and in TLS
mode: the recipe cannot drift from what is tested here. Only the apt-get step (make
for the build stage) is not replayed; make is on this machine.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from mock_aspsp.testing import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
IMAGE_VENV = "/opt/mock-aspsp"
SOURCES = ("mock_aspsp", "schemas", "scenarios")
STARTUP_LIMIT_S = 30


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


@dataclass
class Stage:
    base: str
    name: str = ""
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.argument for i in self.instructions if i.keyword == keyword]

    def environment(self) -> dict[str, str]:
        env = {}
        for line in self.all("ENV"):
            for pair in shlex.split(line):
                key, _, value = pair.partition("=")
                env[key] = value
        return env


def stages() -> list[Stage]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    found: list[Stage] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, argument = line.strip().partition(" ")
        if keyword == "FROM":
            base, _, name = argument.partition(" AS ")
            found.append(Stage(base.strip(), name.strip()))
        elif found:
            found[-1].instructions.append(Instruction(keyword, argument.strip()))
    return found


def build_stage() -> Stage:
    return stages()[0]


def image() -> Stage:
    return stages()[-1]


def exec_form(argument: str) -> list[str]:
    return json.loads(argument)


def healthcheck_command() -> list[str]:
    [check] = image().all("HEALTHCHECK")
    return exec_form(check.split(" CMD ", 1)[1])


def dockerignored(names: list[str]) -> set[str]:
    patterns = [p.strip().removeprefix("**/") for p in (REPO / ".dockerignore").read_text().splitlines() if p.strip()]
    return {n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)}


@dataclass
class Build:
    """The build stage replayed in ``root``: its source folder, virtual environment and what each RUN saw."""

    root: Path
    venv: Path
    source: Path
    cache: Path  # XDG_CACHE_HOME, where pip would keep its cache
    seen: dict[str, set[str]] = field(default_factory=dict)  # RUN -> the names in the source folder then

    def run(self, stage: Stage) -> None:
        env = {**os.environ, "PYTHON": sys.executable, "XDG_CACHE_HOME": str(self.cache)}
        for name in ("PIP_NO_CACHE_DIR", "PIP_CACHE_DIR"):  # only the Dockerfile's ENV decides
            env.pop(name, None)
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR":
                self.source.mkdir(parents=True, exist_ok=True)
            elif instruction.keyword == "ENV":
                env.update(Stage("", instructions=[instruction]).environment())
            elif instruction.keyword == "COPY":
                *names, _ = shlex.split(instruction.argument)
                for name in names:
                    self.copy(name)
            elif instruction.keyword == "RUN" and "apt-get" not in instruction.argument:
                self.seen[instruction.argument] = {p.name for p in self.source.iterdir()}
                self.run_step(instruction.argument, env)

    def copy(self, name: str) -> None:
        origin, target = REPO / name, self.source / name
        if origin.is_dir():
            shutil.copytree(origin, target, dirs_exist_ok=True, ignore=lambda _, names: dockerignored(names))
        else:
            shutil.copy2(origin, target)

    def run_step(self, command: str, env: dict) -> str:
        done = subprocess.run(command.replace(IMAGE_VENV, str(self.venv)), shell=True, cwd=self.source, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return done.stdout + done.stderr


def installed_distributions(venv: Path) -> dict[str, float]:
    """Each distribution in the virtual environment, with when it was installed."""
    site = next(venv.glob("lib/python*/site-packages"))
    return {p.name: (p / "RECORD").stat().st_mtime_ns for p in site.glob("*.dist-info")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("image")
    build = Build(root, venv=root / "image-venv", source=root / "src", cache=root / "cache")
    build.run(build_stage())
    return build


def install_steps() -> tuple[str, str]:
    runs = [r for r in build_stage().all("RUN") if "apt-get" not in r]
    assert [r.split(" VENV=")[0] for r in runs] == ["make install-deps", "make install"], runs
    return runs[0], runs[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_dependencies_are_a_layer_of_their_own_and_a_source_change_does_not_reinstall_them(built):
    deps_step, install_step = install_steps()
    assert not set(SOURCES) & built.seen[deps_step], "the dependency layer must not depend on the sources"
    assert set(SOURCES) <= built.seen[install_step]
    installed = installed_distributions(built.venv)
    assert any(name.startswith("mock_aspsp-") for name in installed)
    dependencies = {name: when for name, when in installed.items() if not name.startswith("mock_aspsp-")}
    assert any(name.startswith("flask-") for name in dependencies)

    changed = built.source / "mock_aspsp" / "tools" / "health.py"  # a source change, as Docker then reruns the last RUN
    changed.write_text(changed.read_text() + "\n# changed\n")
    env = {**os.environ, **build_stage().environment(), "PYTHON": sys.executable, "XDG_CACHE_HOME": str(built.cache)}
    built.run_step(install_step, env)
    site = next(built.venv.glob("lib/python*/site-packages"))
    assert (site / "mock_aspsp" / "tools" / "health.py").read_text().endswith("# changed\n")
    again = installed_distributions(built.venv)
    assert {name: again[name] for name in dependencies} == dependencies, "a dependency was reinstalled"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_image_holds_the_virtual_environment_only_no_pip_cache_nor_build_tree(built):
    build, final = build_stage(), image()
    assert build.base == final.base and build.name, "one Python image for both stages"
    assert final.all("COPY") == [f"--from={build.name} {IMAGE_VENV} {IMAGE_VENV}"]
    assert not [r for r in final.all("RUN") if re.search(r"\b(pip|make|apt-get)\b", r)]
    # The image gets the virtual environment alone, so neither the build stage's /src (sources, build/,
    # *.egg-info) nor a pip cache can reach it; the build stage keeps no pip cache in its layers either.
    assert build.environment().get("PIP_NO_CACHE_DIR") == "1"
    assert not (built.cache / "pip").exists(), "pip kept a cache"
    assert not list(built.venv.rglob("build/lib*")), "a build tree in the virtual environment"


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=log.parent, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def probe(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(healthcheck_command(), env=env, capture_output=True, text=True, timeout=10)


def healthy_within_start_period(server: subprocess.Popen, env: dict, log: Path) -> subprocess.CompletedProcess:
    """The HEALTHCHECK command, polled (bounded) while the server starts, as Docker's start period does."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    checked = probe(env)
    while checked.returncode != 0 and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        checked = probe(env)
    assert checked.returncode == 0, f"{checked.stderr}\n{log.read_text(errors='replace')}"
    return checked


def image_environment(built: Build, **changes: str) -> dict:
    env = {**os.environ, **image().environment(), **changes}
    env["PATH"] = f"{built.venv}/bin:{os.environ['PATH']}"
    env["MOCK_ASPSP_HOST"] = "127.0.0.1"  # the image listens on 0.0.0.0; here loopback is enough
    env["MOCK_ASPSP_PORT"] = str(free_port())
    for name in ("MOCK_ASPSP_TLS_CERT", "MOCK_ASPSP_TLS_KEY", "MOCK_ASPSP_CLIENT_CA", "MOCK_ASPSP_ADMIN_TOKEN"):
        if name not in changes:
            env.pop(name, None)
    return env


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_start_command_serves_and_the_health_check_sees_it(built, tmp_path):
    mounted = tmp_path / "scenarios"  # as `-v ./my-scenarios:/scenarios` gives the container
    mounted.mkdir()
    shutil.copy(REPO / "scenarios" / "consent-refused.yaml", mounted / "mine.yaml")
    env = image_environment(built, MOCK_ASPSP_SCENARIO=str(mounted / "mine.yaml"), MOCK_ASPSP_ADMIN_TOKEN="s3cret")
    assert Path(shutil.which(healthcheck_command()[0], path=env["PATH"])).parent == built.venv / "bin"
    log = tmp_path / "server.log"
    server = start(exec_form(image().all("CMD")[-1]), env, log)
    try:
        checked = healthy_within_start_period(server, env, log)
        assert checked.stdout.strip() == f"http://127.0.0.1:{env['MOCK_ASPSP_PORT']}: ok"
        health = requests.get(f"http://127.0.0.1:{env['MOCK_ASPSP_PORT']}/__admin/health",
                              headers={"X-Request-ID": "probe-1"}, timeout=5)
        assert health.json()["scenario"] == "consent-refused"
    finally:
        server.terminate()
        assert server.wait(timeout=20) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(entry["x_request_id"] == "probe-1" and entry["status"] == 200 for entry in lines), log.read_text()
    stopped = probe(env)
    assert stopped.returncode == 1 and "refused" in stopped.stderr.lower(), stopped.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_health_check_works_in_tls_mode(built, tmp_path):
    cli = built.venv / "bin" / "mock-aspsp"
    for command in (["certs", "issue", "--client-id", "PSDFR-ACPR-12345", "--out", "certs"],
                    ["certs", "server", "--out", "certs"]):
        done = subprocess.run([str(cli), *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    certs = tmp_path / "certs"
    env = image_environment(built, MOCK_ASPSP_TLS_CERT=str(certs / "server.pem"),
                            MOCK_ASPSP_TLS_KEY=str(certs / "server.key"), MOCK_ASPSP_CLIENT_CA=str(certs / "ca.pem"))
    log = tmp_path / "server.log"
    server = start(exec_form(image().all("CMD")[-1]), env, log)
    try:
        checked = healthy_within_start_period(server, env, log)
        assert checked.stdout.strip() == f"https://127.0.0.1:{env['MOCK_ASPSP_PORT']}: ok"
        plain = probe({**env, "MOCK_ASPSP_TLS_CERT": ""})  # the scheme does come from the variable
        assert plain.returncode == 1, plain.stdout
    finally:
        server.terminate()
        assert server.wait(timeout=20) == 0


def test_dockerfile_runs_as_non_root_with_a_healthcheck():
    final = image()
    assert [u for u in final.all("USER") if not re.fullmatch(r"root|0", u)] == final.all("USER")[-1:]
    [check] = final.all("HEALTHCHECK")
    assert check.startswith("--interval=")
    assert final.all("EXPOSE") == ["8080"]
