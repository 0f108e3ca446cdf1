"""A real ``mock-aspsp serve`` process for tests that need one (browser, fuzzer, OAuth client).

Import it from any test folder (``tests/`` is on ``sys.path``)::

    from served_process import served_process

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        with served_process(tmp_path_factory.mktemp("served")) as served:
            yield served

The server is the installed console script (next to ``sys.executable``, so the
virtualenv's), started as ``mock_aspsp.testing.start_server`` starts one: on a
free loopback port, with its own SQLite file, awaited by a bounded poll of its
health. It is stopped by SIGTERM (the server's graceful shutdown), killed only
if it does not stop in time.
"""
from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from mock_aspsp.testing import (HEADLESS_PSU, TPP_CLIENT_ID, AdminClient, RunningSandbox, Tokens, start_server,
                                stop_process)

STOP_LIMIT_S = 20


def console_script() -> Path:
    return Path(sys.executable).with_name("mock-aspsp")


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path
    ca_file: Optional[Path] = None  # the CA of its server certificate, when it serves HTTPS

    def stop(self) -> int:
        return stop_process(self.process, STOP_LIMIT_S)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def link(self, scope: str = "cbpii") -> Tokens:
        """The headless PSU's tokens, by the journey the pytest plugin offers TPPs (``RunningSandbox.link``)."""
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        return RunningSandbox(self.url, AdminClient(self.url)).link(HEADLESS_PSU, scope, ssl_context=context)


def start(workdir: Path, *args: str, workers: int = 2, ca_file: Optional[Path] = None) -> Served:
    """Start the server and return once it answers (or raise with its log); its access log is in the log too.

    ``ca_file``: the server serves HTTPS (``--tls-cert`` in ``args``) with a certificate of this CA.
    """
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    process, url = start_server(workdir, *args, workers=workers, command=(str(console_script()), "serve"),
                                log_requests=True, ssl_context=context)
    return Served(url, process, workdir / "server.log", ca_file)


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
    issue_bundle(str(out), TPP_CLIENT_ID, "Test TPP", ["PSP_IC"])
    ca = load_issued(str(out / "ca.pem"), str(out / "ca.key"))
    files = write_server_files(str(out), ca, ["localhost", "127.0.0.1"])
    return (["--tls-cert", str(files["server.pem"]), "--tls-key", str(files["server.key"]),
             "--client-ca", str(out / "ca.pem")], out / "ca.pem")
