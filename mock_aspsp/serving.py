"""Serving with gunicorn: several worker processes over one shared store.

The app is built once in the master (``preload_app``) so a bad scenario stops
the server before any worker starts; each worker then opens its own SQLite
connection on first use. gunicorn handles SIGTERM as a graceful shutdown.
"""
from __future__ import annotations

import ssl
import gc
from typing import Any, Optional

from flask import Flask
from gunicorn.app.base import BaseApplication

ACCESS_LOG_FORMAT = (
    '{"time": "%(t)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"duration_ms": %(M)s, "x_request_id": "%({x-request-id}i)s", "host": "%({host}i)s"}'
)


class GunicornServer(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def tls_options(cert: str, key: Optional[str], client_ca: Optional[str]) -> dict[str, Any]:
    """gunicorn's TLS settings. With a client CA, client certificates are asked for but optional at the
    TLS level (a PSU's browser has none): /token, /revoke and the API decide whether they need one."""
    options: dict[str, Any] = {"certfile": cert, "keyfile": key}
    if client_ca:
        options.update(ca_certs=client_ca, cert_reqs=ssl.CERT_OPTIONAL)
    return options


def serve(app: Flask, host: str, port: int, workers: int, options: Optional[dict[str, Any]] = None) -> None:
    """Run gunicorn in the foreground; ``options`` adds gunicorn settings (TLS, hooks)."""
    # Everything loaded so far (app, scenario, compiled schemas) is shared with the workers
    # copy-on-write; frozen objects are never touched by the collector, so the pages stay shared.
    gc.collect()
    gc.freeze()
    GunicornServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "preload_app": True,
            "accesslog": "-",
            "errorlog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "graceful_timeout": 10,
            "timeout": 60,
            # No runtime control socket: several sandboxes share a machine in CI, and the
            # container's user has no home directory to put it in.
            "control_socket_disable": True,
            **(options or {}),
        },
    ).run()
