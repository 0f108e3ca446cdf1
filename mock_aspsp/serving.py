"""Serving with gunicorn: several worker processes over one shared store.

The app is built once in the master (``preload_app``) so a bad scenario stops
the server before any worker starts; each worker then opens its own SQLite
connection on first use. gunicorn handles SIGTERM as a graceful shutdown.
"""
from __future__ import annotations

import gc
import ssl
from datetime import datetime, timezone
from typing import Any, Optional

from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from . import jsonio


class JsonAccessLog(glogging.Logger):
    """One JSON line per request, serialized (not string-formatted) so any header value stays valid JSON."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        request_id = host = None
        for name, value in req.headers:  # gunicorn keeps header names upper-cased
            if name == "X-REQUEST-ID":
                request_id = value
            elif name == "HOST":
                host = value
        self.access_log.info(jsonio.dumps({
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "method": req.method,
            "path": req.path,
            "status": resp.status_code,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "x_request_id": request_id,
            "host": host,
        }).decode())


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
            "logger_class": JsonAccessLog,
            "graceful_timeout": 10,
            "timeout": 60,
            # No runtime control socket: several sandboxes share a machine in CI, and the
            # container's user has no home directory to put it in.
            "control_socket_disable": True,
            **(options or {}),
        },
    ).run()
