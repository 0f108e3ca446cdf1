"""Start the sandbox from a test suite and drive it: what a Python TPP team needs.

``running_sandbox`` serves it in this process (a threaded WSGI server, fast to
start) or as a ``mock-aspsp serve`` subprocess (exactly as deployed);
``AdminClient`` wraps the admin API. Only the standard library is used, so a
TPP's test suite needs nothing beyond this package.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import urlencode

STARTUP_LIMIT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AdminError(Exception):
    """The admin API refused a call; ``body`` is its JSON answer."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"admin API answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class AdminClient:
    url: str
    token: Optional[str] = None

    def call(self, method: str, path: str, body: Any = None, query: Optional[dict] = None,
             content_type: str = "application/json") -> Any:
        data = body.encode() if isinstance(body, str) else None if body is None else json.dumps(body).encode()
        target = f"{self.url}/__admin{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Content-Type": content_type}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(target, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AdminError(error.code, json.loads(error.read() or b"null")) from None

    def health(self) -> dict:
        return self.call("GET", "/health")

    def reset(self) -> dict:
        return self.call("POST", "/reset")

    def clock(self) -> dict:
        return self.call("GET", "/clock")

    def advance(self, duration: str) -> dict:
        """Move the mock's time forward, e.g. ``advance("PT1H")``."""
        return self.call("POST", "/clock", {"advance": duration})

    def set_clock(self, instant: str) -> dict:
        return self.call("POST", "/clock", {"set": instant})

    def patch_account(self, iban: str, **changes: Any) -> dict:
        return self.call("PATCH", f"/accounts/{iban}", changes)

    def tokens(self) -> list[dict]:
        return self.call("GET", "/tokens")["tokens"]

    def revoke_tokens(self, **criteria: str) -> int:
        return self.call("POST", "/tokens/revoke", criteria)["revoked"]

    def requests(self, **filters: str) -> list[dict]:
        return self.call("GET", "/requests", query=filters)["requests"]

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def add_rule(self, rule: dict) -> None:
        self.call("POST", "/rules", rule)

    def clear_rules(self) -> None:
        self.call("DELETE", "/rules")

    def put_scenario(self, yaml_text: str) -> dict:
        return self.call("PUT", "/scenario", yaml_text, content_type="application/yaml")


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    admin: AdminClient


def stop_process(process: subprocess.Popen, timeout: float = 20) -> Optional[int]:
    """SIGTERM (the server's and redis' graceful stop), SIGKILL only if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return process.returncode


def wait_until_healthy(url: str, alive=lambda: True, limit_s: float = STARTUP_LIMIT_S) -> None:
    """Bounded poll of the health endpoint while the server starts."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(f"{url}/__admin/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"mock-aspsp did not answer at {url} within {limit_s}s")


@contextlib.contextmanager
def _in_process(scenario: Path, db: Path) -> Iterator[str]:
    from werkzeug.serving import make_server

    from .app import create_app
    from .config import Config

    app = create_app(Config(scenario=scenario, db=db, admin_token=os.environ.get("MOCK_ASPSP_ADMIN_TOKEN")))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="mock-aspsp", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def _subprocess(scenario: Path, db: Path, workers: int) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "mock_aspsp", "serve", "--scenario", str(scenario), "--db", str(db),
               "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, alive=lambda: process.poll() is None)
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_sandbox(scenario: Optional[Path] = None, mode: str = "inprocess", workers: int = 2) -> Iterator[RunningSandbox]:
    """Serve the sandbox for the duration of the ``with`` block."""
    from .resources import default_scenario

    scenario = Path(scenario or default_scenario())
    with tempfile.TemporaryDirectory(prefix="mock-aspsp-") as folder:
        db = Path(folder) / "state.sqlite3"
        launcher = _in_process(scenario, db) if mode == "inprocess" else _subprocess(scenario, db, workers)
        with launcher as url:
            yield RunningSandbox(url, AdminClient(url, os.environ.get("MOCK_ASPSP_ADMIN_TOKEN")))
