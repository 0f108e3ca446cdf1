"""Start the sandbox from a test suite and drive it: what a Python TPP team needs.

``running_sandbox`` serves it in this process (a threaded WSGI server, fast to
start) or as a ``mock-aspsp serve`` subprocess (exactly as deployed);
``AdminClient`` wraps the admin API and ``RunningSandbox.link`` runs the headless
journey. Only the standard library is used, so a TPP's test suite needs nothing
beyond this package.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union
from urllib.parse import parse_qs, urlencode, urlsplit

STARTUP_LIMIT_S = 30

# The parties of the default scenario (scenarios/default.yaml), for a TPP's own tests.
TPP_CLIENT_ID = "PSDFR-ACPR-12345"  # the registered TPP, role PSP_IC
TPP_REDIRECT_URI = "https://tpp.example.com/callback"
HEADLESS_PSU = "bruno"  # sca: approve: consents at once (RunningSandbox.link)
HEADLESS_IBAN = "FR7630007000020009876540145"  # the account bruno consents to: 2 500 EUR, 1 000 overdraft
REFUSING_PSU = "chloe"  # sca: refuse: access_denied at once
TIMING_OUT_PSU = "denis"  # sca: timeout: the journey times out at once
INTERACTIVE_PSU = "alice"  # goes through the bank's pages (identification, one-time code, consent)
INTERACTIVE_PASSWORD = "alice-password"
INTERACTIVE_OTP = "123456"
PORTAL_IBAN = "YY13RDHN98392489481620896668799742"  # alice's account, the portal's example: 20 000 EUR


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
        """The bank withdraws access (``by="psu"``: the PSU does), e.g. ``revoke_tokens(psu="bruno", by="psu")``;
        how many pairs it revoked."""
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

    def start_conformance_plan(self, client_id: str, *modules: str) -> dict:
        """Run these go-live modules, in order, on the TPP's next journeys and calls."""
        return self.call("POST", "/conformance/plans", {"client_id": client_id, "modules": list(modules)})

    def conformance(self, client_id: str) -> dict:
        """The TPP's go-live report: every check and module with its status and evidence."""
        return self.call("GET", "/conformance", query={"client_id": client_id})

    def assert_ready(self, client_id: str) -> dict:
        """Fail (AssertionError listing each failed check or module and its evidence) unless nothing failed."""
        report = self.conformance(client_id)
        failed = [item for item in report["checks"] + report["modules"] if item["status"] == "failed"]
        assert not failed, "go-live readiness failed:\n" + "\n".join(
            f"{item['id']}: {item['detail']} {[(e['path'], e['status'], e['note']) for e in item['evidence']]}"
            for item in failed)
        return report


@dataclass(frozen=True)
class Tokens:
    """The bank's answer at ``/token``."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    scope: str


class JourneyError(Exception):
    """The bank ended a journey without tokens; ``error`` is the OAuth error (``access_denied``...) if any."""

    def __init__(self, message: str, error: Optional[str] = None):
        super().__init__(message)
        self.error = error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a TPP reads the Location itself: its redirect URI is not served here


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    admin: AdminClient

    def link(self, psu: str, scope: str = "cbpii", *, client_id: str = TPP_CLIENT_ID,
             redirect_uri: str = TPP_REDIRECT_URI, bank: Optional[str] = None,
             ssl_context: Optional[ssl.SSLContext] = None) -> Tokens:
        """A headless PSU (``sca: approve`` in the scenario) links an account: ``/authorize`` with
        ``login_hint`` answers with a code at once, which the TPP exchanges at ``/token``. ``scope``:
        ``cbpii`` (v1.4.2, v1.6.2) or ``piisp`` (v1); ``bank``: an establishment code other than the
        default bank's; ``ssl_context``: how to trust a sandbox served over HTTPS (``serve --tls-cert``).
        JourneyError says why when the bank gives no tokens."""
        headers = {"Host": f"{bank}.localhost:{urlsplit(self.url).port}"} if bank else {}
        state = secrets.token_urlsafe(32)  # 256 bits: the go-live check asks for 128 at least
        query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                           "scope": scope, "state": state, "login_hint": psu})
        try:
            handlers = [_NoRedirect, urllib.request.HTTPSHandler(context=ssl_context)] if ssl_context else [_NoRedirect]
            with urllib.request.build_opener(*handlers).open(
                    urllib.request.Request(f"{self.url}/authorize?{query}", headers=headers), timeout=30) as page:
                raise JourneyError(f"/authorize answered {page.status} without redirecting")
        except urllib.error.HTTPError as answer:
            location = answer.headers.get("Location") if answer.code in (302, 303) else None
            if location is None:
                raise JourneyError(f"/authorize refused the request ({answer.code}): unknown client_id or "
                                   f"redirect_uri {redirect_uri!r}?") from None
        if not location.startswith(redirect_uri):
            raise JourneyError(f"PSU {psu!r} did not consent at once: /authorize showed the bank's pages (a "
                               "headless PSU has sca: approve in the scenario, e.g. bruno in the default one)")
        answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "error" in answer:
            raise JourneyError(f"the bank answered {answer['error']}: {answer.get('error_description', '')}",
                               answer["error"])
        if answer.get("state") != state:
            raise JourneyError(f"the bank sent back the state {answer.get('state')!r}, not {state!r}")
        form = urlencode({"grant_type": "authorization_code", "code": answer["code"], "client_id": client_id,
                          "redirect_uri": redirect_uri}).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{self.url}/token", data=form, headers=headers),
                                        timeout=30, context=ssl_context) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as refused:
            error = json.loads(refused.read() or b"{}")
            raise JourneyError(f"/token answered {refused.code}: {error.get('error')}: "
                               f"{error.get('error_description', '')}", error.get("error")) from None
        return Tokens(**{name: body[name] for name in Tokens.__dataclass_fields__})


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


def wait_until_healthy(url: str, alive=lambda: True, limit_s: float = STARTUP_LIMIT_S,
                       ssl_context: Optional[ssl.SSLContext] = None) -> None:
    """Bounded poll of the health endpoint while the server starts."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(f"{url}/__admin/health", timeout=1, context=ssl_context):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"mock-aspsp did not answer at {url} within {limit_s}s")


@contextlib.contextmanager
def _in_process(scenario: Path, db: Path) -> Iterator[str]:
    from werkzeug.serving import make_server

    from .app import create_app
    from .config import Config, admin_token

    app = create_app(Config(scenario=scenario, db=db, admin_token=admin_token()))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="mock-aspsp", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


PORT_ATTEMPTS = 3


SERVE = (sys.executable, "-m", "mock_aspsp", "serve")


def start_server(folder: Path, *args: str, workers: int = 2, command: Sequence[str] = SERVE,
                 log_requests: bool = False, ssl_context: Optional[ssl.SSLContext] = None
                 ) -> tuple[subprocess.Popen, str]:
    """``mock-aspsp serve *args`` on a free loopback port, its state (``state.sqlite3``) and its log
    (``server.log``) in ``folder``, once it answers: (process, URL). The port is free when chosen, but
    another process (a parallel test worker...) may take it first: the server then stops at once saying
    so, and another port is tried. ``command``: how to run ``serve``; ``log_requests``: the access log
    (standard output) goes to ``server.log`` too; ``ssl_context``: the server serves HTTPS
    (``--tls-cert`` in ``args``) and is trusted with this context."""
    log = folder / "server.log"
    attempt = 0
    while True:
        attempt += 1
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--db", str(folder / "state.sqlite3"), "--port", str(port), "--workers", str(workers),
                 *args], stdout=out if log_requests else subprocess.DEVNULL, stderr=out)
        url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        if _answers_as_ours(url, process, log, ssl_context):
            return process, url
        stop_process(process)
        output = log.read_text(errors="replace")
        if "already in use" not in output or attempt == PORT_ATTEMPTS:
            raise RuntimeError(f"mock-aspsp serve did not start (exit status {process.returncode}):\n{output}")


def _answers_as_ours(url: str, process: subprocess.Popen, log: Path, ssl_context: Optional[ssl.SSLContext]) -> bool:
    """The server answers and it is this process: its start line, written before it listens, names the
    address (a server that lost the port to another stops before writing it)."""
    try:
        wait_until_healthy(url, alive=lambda: process.poll() is None, ssl_context=ssl_context)
    except RuntimeError:
        return False
    address = url.split("://", 1)[1] + "/"
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while process.poll() is None and time.monotonic() < deadline:
        if address in log.read_text(errors="replace"):
            return True
        time.sleep(0.05)  # bounded by the deadline
    return False


@contextlib.contextmanager
def _subprocess(scenario: Path, folder: Path, workers: int) -> Iterator[str]:
    process, url = start_server(folder, "--scenario", str(scenario), workers=workers)
    try:
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_sandbox(scenario: Union[str, Path, None] = None, mode: str = "inprocess",
                    workers: int = 2) -> Iterator[RunningSandbox]:
    """Serve the sandbox for the duration of the ``with`` block, with a state of its own (so each of
    several test processes, ``pytest -n``, gets its own). ``scenario``: a file or a shipped scenario's name."""
    from .config import admin_token, temporary_folder
    from .resources import default_scenario, find_scenario

    scenario = find_scenario(str(scenario)) if scenario else default_scenario()
    with temporary_folder() as folder:
        launcher = (_in_process(scenario, folder / "state.sqlite3") if mode == "inprocess"
                    else _subprocess(scenario, folder, workers))
        with launcher as url:
            yield RunningSandbox(url, AdminClient(url, admin_token()))
