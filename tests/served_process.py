"""A real ``mock-aspsp serve`` process for tests that need one (browser, fuzzer, OAuth client).

Import it from any test folder (``tests/`` is on ``sys.path``)::

    from served_process import served_process

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        with served_process(tmp_path_factory.mktemp("served")) as served:
            yield served

The server is the installed console script (next to ``sys.executable``, so the
virtualenv's), on a free loopback port, with its own SQLite file; start-up is
awaited by a bounded poll of the RFC 8414 metadata, and it is stopped by SIGTERM
(the server's graceful shutdown), killed only if it does not stop in time.
"""
from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import requests

from mock_aspsp.testing import (  # noqa: F401 (the default scenario's parties, for the tests using a server)
    HEADLESS_IBAN,
    HEADLESS_PSU,
    TPP_CLIENT_ID as CLIENT_ID,
    TPP_REDIRECT_URI as REDIRECT_URI,
    AdminClient,
    RunningSandbox,
    Tokens,
    free_port,
    stop_process,
)

STARTUP_LIMIT_S = 30
STOP_LIMIT_S = 20


def console_script() -> Path:
    return Path(sys.executable).with_name("mock-aspsp")


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> int:
        return stop_process(self.process, STOP_LIMIT_S)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(workdir: Path, *args: str, workers: int = 2, ca_file: Optional[Path] = None) -> Served:
    """Start the server and return once it answers (or raise with its log).

    ``ca_file``: the server serves HTTPS (``--tls-cert`` in ``args``) with a certificate of this CA.
    """
    port = free_port()
    command = [str(console_script()), "serve", "--port", str(port), "--workers", str(workers),
               "--db", str(workdir / "state.sqlite3"), *args]
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    served = Served(f"{'https' if ca_file else 'http'}://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock-aspsp serve exited with {process.returncode}:\n{served.log_text()}")
        try:
            metadata = f"{served.url}/.well-known/oauth-authorization-server"
            if requests.get(metadata, timeout=1, verify=str(ca_file) if ca_file else True).ok:
                return served
        except requests.ConnectionError:
            pass
        time.sleep(0.1)  # polling for start-up, bounded by the deadline
    served.stop()
    raise RuntimeError(f"mock-aspsp serve did not answer within {STARTUP_LIMIT_S}s:\n{served.log_text()}")


@contextlib.contextmanager
def served_process(workdir: Path, *args: str, workers: int = 2, ca_file: Optional[Path] = None) -> Iterator[Served]:
    served = start(workdir, *args, workers=workers, ca_file=ca_file)
    try:
        yield served
    finally:
        served.stop()


def tls_args(workdir: Path) -> tuple[list[str], Path]:
    """``serve`` options for HTTPS with optional client certificates (a test CA, its server certificate
    for 127.0.0.1), and the CA file a client verifies the server with."""
    from mock_aspsp.tools.pki import issue_bundle, load_issued, write_server_files

    out = workdir / "certs"
    issue_bundle(str(out), CLIENT_ID, "Test TPP", ["PSP_IC"])
    ca = load_issued(str(out / "ca.pem"), str(out / "ca.key"))
    files = write_server_files(str(out), ca, ["localhost", "127.0.0.1"])
    return (["--tls-cert", str(files["server.pem"]), "--tls-key", str(files["server.key"]),
             "--client-ca", str(out / "ca.pem")], out / "ca.pem")


def headless_tokens(url: str, scope: str = "cbpii", verify: Optional[str] = None) -> Tokens:
    """The headless PSU's tokens, by the journey the pytest plugin offers TPPs; ``verify``: the CA file
    of a sandbox served over HTTPS."""
    context = ssl.create_default_context(cafile=verify) if verify else None
    return RunningSandbox(url, AdminClient(url)).link(HEADLESS_PSU, scope, ssl_context=context)
