"""Settings of one server, from the command line or the environment.

The environment names (``MOCK_ASPSP_*``) let a container be configured
without changing its command. They are read here only: the app's settings
(``from_environment``), how ``serve`` listens (``serve_environment``, the
command line's defaults, which ``health`` reads too) and the admin token.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

from .http.hosts import is_loopback
from .resources import default_scenario, find_scenario


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_WORKERS = 2
# Seconds a connection may take to deliver a complete request head (``serve --client-timeout``).
DEFAULT_CLIENT_TIMEOUT_S = 10.0
DEFAULT_THREADS = 8  # requests one worker runs at once (``serve --threads``)
# The request header --client-cert-header trusts when given no name (nginx's usual choice).
DEFAULT_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number variable (``MOCK_ASPSP_PORT``...); the default unless it is one."""
    value = env.get(name)
    return int(value) if value and value.isdigit() else default


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds (``MOCK_ASPSP_CLIENT_TIMEOUT``); the default unless it is one."""
    try:
        return float(env.get(name) or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class ServeEnvironment:
    """How ``serve`` listens unless its options say otherwise: the command line's defaults."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = DEFAULT_WORKERS
    client_timeout: float = DEFAULT_CLIENT_TIMEOUT_S
    threads: int = DEFAULT_THREADS
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    client_ca: Optional[str] = None


def serve_environment(env: Mapping[str, str] = os.environ) -> ServeEnvironment:
    """``MOCK_ASPSP_HOST``, ``_PORT``, ``_WORKERS``, ``_CLIENT_TIMEOUT``, ``_THREADS``, ``_TLS_CERT``,
    ``_TLS_KEY``, ``_CLIENT_CA``."""
    return ServeEnvironment(
        host=env.get("MOCK_ASPSP_HOST", DEFAULT_HOST),
        port=_int_env(env, "MOCK_ASPSP_PORT", DEFAULT_PORT),
        workers=_int_env(env, "MOCK_ASPSP_WORKERS", DEFAULT_WORKERS),
        client_timeout=_float_env(env, "MOCK_ASPSP_CLIENT_TIMEOUT", DEFAULT_CLIENT_TIMEOUT_S),
        threads=_int_env(env, "MOCK_ASPSP_THREADS", DEFAULT_THREADS),
        tls_cert=env.get("MOCK_ASPSP_TLS_CERT"),
        tls_key=env.get("MOCK_ASPSP_TLS_KEY"),
        client_ca=env.get("MOCK_ASPSP_CLIENT_CA"),
    )


def admin_token(env: Mapping[str, str] = os.environ) -> Optional[str]:
    """``MOCK_ASPSP_ADMIN_TOKEN``: when set, every admin call but health needs it as a bearer token."""
    return env.get("MOCK_ASPSP_ADMIN_TOKEN") or None


@dataclass(frozen=True)
class Config:
    scenario: Path
    # The SQLite state file. None: not chosen yet; ``with_state_file`` gives a server a temporary one.
    db: Optional[Path] = None
    admin_token: Optional[str] = None
    # Behind a TLS-terminating proxy: the trusted request header carrying the client's certificate
    # (URL-escaped PEM, as nginx's $ssl_client_escaped_cert). None: such a header is ignored.
    client_cert_header: Optional[str] = None
    # Shared state of several replicas: ``redis://host:6379/0``. None: the SQLite file ``db``.
    store: Optional[str] = None
    # At start, publish the scenario file even over one swapped in with PUT /__admin/scenario
    # (see ``Sandbox``): how a redeploy with a new file takes over a shared store.
    publish_scenario: bool = False
    # Without an admin token, the admin API answers loopback hosts and these ones only (``http.hosts.is_allowed``).
    allowed_hosts: tuple[str, ...] = ()


def from_environment(
    env: Mapping[str, str] = os.environ, *, scenario: Optional[str] = None, db: Optional[str] = None,
    client_cert_header: Optional[str] = None, store: Optional[str] = None, publish_scenario: bool = False,
    allowed_hosts: Optional[Sequence[str]] = None,
) -> Config:
    """Explicit arguments win over ``MOCK_ASPSP_SCENARIO`` / ``MOCK_ASPSP_DB`` /
    ``MOCK_ASPSP_CLIENT_CERT_HEADER`` / ``MOCK_ASPSP_ALLOWED_HOSTS`` (comma-separated). The scenario is a
    file or a shipped scenario's name (FileNotFoundError naming the shipped ones when it is neither).

    State: ``store`` (a URL), else an explicit ``db``, else ``MOCK_ASPSP_STORE``, else ``MOCK_ASPSP_DB``,
    else none yet (see ``with_state_file``): building a config creates nothing on disk."""
    named = scenario or env.get("MOCK_ASPSP_SCENARIO")
    store = store or (None if db else env.get("MOCK_ASPSP_STORE")) or None
    db_path = db or env.get("MOCK_ASPSP_DB")
    return Config(
        scenario=find_scenario(named) if named else default_scenario(),
        db=Path(db_path) if db_path else None,
        admin_token=admin_token(env),
        client_cert_header=client_cert_header or env.get("MOCK_ASPSP_CLIENT_CERT_HEADER") or None,
        store=store,
        publish_scenario=publish_scenario or env.get("MOCK_ASPSP_PUBLISH_SCENARIO", "").lower() in ("1", "true", "yes"),
        allowed_hosts=tuple(allowed_hosts) if allowed_hosts else tuple(
            name.strip() for name in env.get("MOCK_ASPSP_ALLOWED_HOSTS", "").split(",") if name.strip()),
    )


@contextlib.contextmanager
def temporary_folder() -> Iterator[Path]:
    """A fresh ``mock-aspsp-*`` folder, removed on exit by the process that made it: a server's worker
    forked inside the ``with`` leaves it to its master, which still uses it."""
    folder = Path(tempfile.mkdtemp(prefix="mock-aspsp-"))
    owner = os.getpid()
    try:
        yield folder
    finally:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def with_state_file(config: Config) -> Iterator[Config]:
    """The config a server runs with: without a SQLite file, one in a temporary folder that lasts as
    long as the ``with`` (every start is clean and leaves nothing behind)."""
    if config.db is not None:
        yield config
        return
    with temporary_folder() as folder:
        yield replace(config, db=folder / "state.sqlite3")


def admin_exposure_warning(listen_host: str, config: Config) -> Optional[str]:
    """What to warn about at start when the server listens beyond loopback and the admin API has no token."""
    if config.admin_token or is_loopback(listen_host.strip("[]")):
        return None
    return (f"listening on {listen_host} without an admin token: the admin API answers loopback hosts only"
            + (f" and {', '.join(config.allowed_hosts)}" if config.allowed_hosts else "")
            + "; set MOCK_ASPSP_ADMIN_TOKEN to drive it from elsewhere (or MOCK_ASPSP_ALLOWED_HOSTS / --allowed-host "
              "for hosts you trust), and keep the port off untrusted networks")
