"""Serving with gunicorn: several worker processes over one shared store.

The app is built once in the master (``preload_app``) so a bad scenario stops
the server before any worker starts; each worker then opens its own SQLite
connection on first use. gunicorn handles SIGTERM as a graceful shutdown.
"""
from __future__ import annotations

from typing import Any

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


def serve(app: Flask, host: str, port: int, workers: int) -> None:
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
        },
    ).run()
