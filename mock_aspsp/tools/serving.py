"""Serving: several worker processes over one shared store, that no client can stall or crash.

Two servers, chosen by measurement (BENCHMARKS.md, "Which server"):

* **plain HTTP** (also behind a TLS-terminating proxy, ``--client-cert-header``): granian, a Rust
  HTTP/1.1 server (hyper) calling the WSGI app from a thread pool. Connections are handled
  asynchronously, so idle ones cost no thread; malformed framing gets hyper's own 400 and never
  reaches Python; a connection that has not sent a complete request head within the client
  timeout (idle from the start, kept alive, or trickling) is closed.
* **TLS terminated here** (``--tls-cert``): gunicorn's threaded worker, hardened below
  (``GuardedThreadWorker``). granian verifies client certificates itself, against real time, and
  does not hand the certificate to a WSGI app; this product must accept any certificate the
  client CA issued and judge it by the mock clock, so the app reads it from the connection.

Both build the app once in the master before forking, so a bad scenario stops the server before
it serves and the workers share its memory copy-on-write; both stop gracefully on SIGTERM within
``GRACE_S``; both write the same JSON access-log line per request (``AccessLog``).
"""
from __future__ import annotations

import errno
import functools
import gc
import logging
import math
import multiprocessing
import os
import selectors
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from ..config import DEFAULT_CLIENT_TIMEOUT_S, DEFAULT_THREADS
from ..formats import jsonio

if TYPE_CHECKING:
    from flask import Flask

GRACE_S = 10  # SIGTERM: requests under way get this long to finish
# Names a WSGI environ gives meaning to. granian starts every request's environ from the process
# environment; a variable of the server's own environment with one of these names would read as a
# request header (HTTP_PROXY as a "Proxy" header) or as the request's framing.
_REQUEST_NAMES = ("CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI", "RAW_URI", "REMOTE_USER", "AUTH_TYPE")


@dataclass(frozen=True)
class Limits:
    """What one served process tolerates from its clients (``serve --client-timeout``, ``--threads``)."""

    # Seconds a connection may take to deliver a complete request head: idle from the start, kept
    # alive between requests, trickling its headers, or (TLS) still in its handshake. Then closed.
    client_timeout: float = DEFAULT_CLIENT_TIMEOUT_S
    # Requests one worker runs at once. A request whose body trickles in holds one until the body
    # is complete; the others go on.
    threads: int = DEFAULT_THREADS


class AccessLog:
    """One JSON line per request on standard output, written by the app whichever server runs it.

    Serialized, not string-formatted, so any header value stays valid JSON; one ``write()`` per
    line, so the workers' lines never interleave. ``pid`` says which worker answered."""

    def __init__(self, app: Callable, out: int = 1):
        self.app = app
        self.out = out
        self.leaked = {name: value for name, value in os.environ.items()
                       if name.startswith("HTTP_") or name in _REQUEST_NAMES}

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        for name, value in self.leaked.items():  # usually none
            if environ.get(name) == value:
                del environ[name]
        began = time.perf_counter()
        answered: list[str] = []
        sized: list[bool] = []

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            answered.append(status)
            sized.append(any(name.lower() == "content-length" for name, _ in headers))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, recording_start_response)
            return body if isinstance(body, list) or not (sized and sized[-1]) else _whole(body)
        finally:
            self._write(environ, answered[-1] if answered else "500", time.perf_counter() - began)

    def _write(self, environ: dict, status: str, seconds: float) -> None:
        line = jsonio.dumps({
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status[:3]) if status[:3].isdigit() else status,
            "duration_ms": round(seconds * 1000, 1),
            "x_request_id": environ.get("HTTP_X_REQUEST_ID"),
            "host": environ.get("HTTP_HOST"),
            "pid": os.getpid(),
        }) + b"\n"
        try:
            os.write(self.out, line)
        except OSError:  # standard output closed: the answer still goes out
            pass


def _whole(body: Iterable[bytes]) -> list[bytes]:
    """A body of known length (every answer of this app is built whole) in one piece: granian hands a
    list to the connection at once, where it pulls an iterator through a channel chunk by chunk
    (~10 % of a funds confirmation's CPU)."""
    try:
        return [b"".join(body)]
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _share_with_workers() -> None:
    """Everything loaded so far (app, scenario, compiled schemas) is shared with the workers
    copy-on-write; frozen objects are never touched by the collector, so their pages stay shared.
    No collection first (Python's advice for gc.freeze): it took 30 ms, a twentieth of start-up, and
    the holes it leaves in shared pages are where a worker's first allocations would copy them."""
    gc.freeze()


@dataclass(frozen=True)
class Hooks:
    """What the master runs besides serving: ``on_ready`` once it listens (``--watch``), ``before_fork``
    before it forks each worker, the first ones and any respawned one (the scenario in force, loaded
    once there, is then every worker's without parsing)."""

    on_ready: Optional[Callable[[], None]] = None
    before_fork: Optional[Callable[[], None]] = None


def serve(app: Flask, host: str, port: int, workers: int, limits: Limits = Limits(),
          tls: Optional[dict[str, Any]] = None, hooks: Hooks = Hooks()) -> None:
    """Serve ``app`` in the foreground until SIGTERM/SIGINT. ``tls``: ``tls_options``."""
    wsgi = AccessLog(app)
    _share_with_workers()
    if tls:
        _serve_gunicorn(wsgi, host, port, workers, limits, tls, hooks)
    else:
        _serve_granian(wsgi, host, port, workers, limits, hooks)


def _granian_server(before_fork: Optional[Callable[[], None]]) -> type:
    """granian's server class; with ``before_fork``, called before each worker process is made (granian
    has no hook there: ``_spawn_worker`` is where it builds one, first start and respawn alike)."""
    from granian.server import Server

    if before_fork is None:
        return Server

    class ForkingServer(Server):
        def _spawn_worker(self, *args, **kwargs):
            before_fork()
            return super()._spawn_worker(*args, **kwargs)

    return ForkingServer


def _serve_granian(wsgi: Callable, host: str, port: int, workers: int, limits: Limits, hooks: Hooks) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    server = _granian_server(hooks.before_fork)(
        "mock_aspsp", address=host, port=port, interface=Interfaces.WSGI, workers=workers,
        # HTTP/1.1 only: with protocol detection (HTTP/2 too) a connection that never sends a byte is
        # never timed out. The header read timeout then covers idle, kept-alive and slow connections.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=int(limits.client_timeout * 1000)),
        blocking_threads=limits.threads,
        # Connections one worker holds at once: idle ones count until the client timeout closes them.
        backpressure=4096,
        workers_kill_timeout=GRACE_S,
        # A worker that dies (killed, out of memory) is replaced, as gunicorn's master did; granian's
        # default is to stop the whole server. A worker dying again within seconds still stops it.
        respawn_failed_workers=True,
        log_level=LogLevels.warning,
        log_access=False,
    )
    # granian warns that more threads than 2 × cores + 1 is a lot: here they wait on slow bodies (Limits).
    logging.getLogger("_granian").addFilter(lambda record: not record.getMessage().startswith("Configuration allows"))
    # Workers are forks of this process, which built the app: its memory is shared copy-on-write, and the
    # app needs no pickling (Python 3.14 makes forkserver the default, which granian replaces by spawn).
    multiprocessing.set_start_method("fork", force=True)
    if hooks.on_ready:
        server.on_startup(hooks.on_ready)
    server.serve(target_loader=lambda target: wsgi)


def tls_options(cert: str, key: Optional[str], client_ca: Optional[str]) -> dict[str, Any]:
    """gunicorn's TLS settings. With a client CA, client certificates are asked for but optional at the
    TLS level (a PSU's browser has none): /token, /revoke and the API decide whether they need one."""
    options: dict[str, Any] = {"certfile": cert, "keyfile": key}
    if client_ca:
        options.update(ca_certs=client_ca, cert_reqs=ssl.CERT_OPTIONAL)
    return options


def _serve_gunicorn(wsgi: Callable, host: str, port: int, workers: int, limits: Limits, tls: dict[str, Any],
                    hooks: Hooks) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": f"{__name__}.GuardedThreadWorker",
                "threads": limits.threads,
                "keepalive": math.ceil(limits.client_timeout),  # gunicorn counts whole seconds
                "preload_app": True,
                "accesslog": None,  # AccessLog writes it
                "errorlog": "-",
                "graceful_timeout": GRACE_S,
                "timeout": 60,
                # No runtime control socket: several sandboxes share a machine in CI, and the
                # container's user has no home directory to put it in.
                "control_socket_disable": True,
                "when_ready": (lambda server: hooks.on_ready()) if hooks.on_ready else (lambda server: None),
                "pre_fork": (lambda server, worker: hooks.before_fork()) if hooks.before_fork else (
                    lambda server, worker: None),
                **tls,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Callable:
            return wsgi

    Application().run()


@functools.lru_cache(maxsize=None)
def _guarded_worker_class():
    from gunicorn.workers.gthread import TConn, ThreadWorker

    class GuardedThreadWorker(ThreadWorker):
        """gunicorn's threaded worker, where no connection can hold a thread for long.

        A new connection waits for its first byte on the worker's poller, not in a thread (gunicorn
        gives it a thread for up to 5 s: a few dozen idle sockets stalled every request). One that
        has not delivered its request head, TLS handshake included, ``keepalive`` seconds after a
        thread began reading it is shut down, which frees that thread. So a slow head or handshake
        holds one of the worker's threads for ``keepalive`` seconds at most."""

        def init_process(self) -> None:
            self.heads: dict[TConn, float] = {}  # connection being read -> when it must have its head
            super().init_process()

        def accept(self, listener: socket.socket) -> None:
            try:
                client, address = listener.accept()
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self.nr_conns += 1
            conn = TConn(self.cfg, client, address, listener.getsockname())
            conn.timeout = time.monotonic() + self.cfg.keepalive  # then murder_pending closes it
            self.pending_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

        def handle(self, conn: TConn):
            # From when a thread reads it: time spent queued for a thread is not the client's doing.
            self.heads[conn] = time.monotonic() + self.cfg.keepalive
            return super().handle(conn)

        def handle_request(self, req, conn: TConn):
            self.heads.pop(conn, None)  # the head is in: from here the app decides
            return super().handle_request(req, conn)

        def finish_request(self, conn: TConn, fs) -> None:
            self.heads.pop(conn, None)
            super().finish_request(conn, fs)

        def murder_pending(self) -> None:
            super().murder_pending()
            now = time.monotonic()
            for conn, deadline in list(self.heads.items()):
                if deadline < now and self.heads.pop(conn, None) is not None:
                    try:  # the plain socket's shutdown: an SSL socket's would also drop its TLS state
                        socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
                    except OSError:
                        pass

    return GuardedThreadWorker


def __getattr__(name: str):
    """``GuardedThreadWorker`` by name (gunicorn's ``worker_class``), gunicorn imported only when TLS is on."""
    if name == "GuardedThreadWorker":
        return _guarded_worker_class()
    raise AttributeError(name)
