"""The Dockerfile's own install and start commands, run outside Docker (CI has no engine).

The test reads the RUN that installs and the CMD from the Dockerfile itself, so
the image recipe cannot drift from what is tested here.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from served_process import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def dockerfile():
    text = (REPO / "Dockerfile").read_text()
    return text.replace("\\\n", " ")


def install_command():
    runs = re.findall(r"^RUN (.+)$", dockerfile(), re.M)
    installs = [r for r in runs if "make install" in r]
    assert len(installs) == 1, runs
    return installs[0]


def start_command():
    return json.loads(re.search(r"^CMD (\[.+\])$", dockerfile(), re.M).group(1))


def image_environment():
    env = {}
    for line in re.findall(r"^ENV (.+)$", dockerfile(), re.M):
        for pair in shlex.split(line):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_dockerfile_install_and_start_commands_serve(tmp_path):
    source = tmp_path / "src"  # what the Dockerfile COPYs, nothing more
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "Makefile"):
        shutil.copy(REPO / name, source / name)
    for name in ("mock_aspsp", "schemas", "scenarios"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "image-venv"
    command = install_command().replace("/opt/mock-aspsp", str(venv))
    installed = subprocess.run(command, shell=True, cwd=source, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "PYTHON": sys.executable})
    assert installed.returncode == 0, installed.stderr

    mounted = tmp_path / "scenarios"  # as `-v ./my-scenarios:/scenarios` gives the container
    mounted.mkdir()
    shutil.copy(REPO / "scenarios" / "consent-refused.yaml", mounted / "mine.yaml")
    env = {**os.environ, **image_environment(), "MOCK_ASPSP_SCENARIO": str(mounted / "mine.yaml")}
    env["PATH"] = f"{venv}/bin:{os.environ['PATH']}"
    env["MOCK_ASPSP_HOST"] = "127.0.0.1"  # the image listens on 0.0.0.0; here loopback is enough
    env["MOCK_ASPSP_PORT"] = str(free_port())
    log = tmp_path / "server.log"
    server = subprocess.Popen(start_command(), cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{env['MOCK_ASPSP_PORT']}"
        health = None
        deadline = time.monotonic() + 30
        while health is None and server.poll() is None and time.monotonic() < deadline:
            try:
                health = requests.get(f"{url}/__admin/health", headers={"X-Request-ID": "probe-1"}, timeout=1)
            except requests.ConnectionError:
                time.sleep(0.2)  # bounded poll for start-up
        assert health is not None and health.json()["status"] == "ok", log.read_text()
        assert health.json()["scenario"] == "consent-refused"
        assert Path(shutil.which("mock-aspsp", path=env["PATH"])).parent == venv / "bin"
    finally:
        server.terminate()
        assert server.wait(timeout=20) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(entry["x_request_id"] == "probe-1" and entry["status"] == 200 for entry in lines), log.read_text()


def test_dockerfile_runs_as_non_root_with_a_healthcheck():
    text = dockerfile()
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.M)
    assert "HEALTHCHECK" in text and "/__admin/health" in text
    assert re.search(r"^EXPOSE 8080$", text, re.M)
