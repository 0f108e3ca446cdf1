"""The product under another server than the one ``mock-aspsp serve`` runs, for the bench's comparison.

``python product_on.py KIND WORKERS --port PORT`` serves the default scenario with the same app, the same
``AccessLog`` and the same sharing before the fork as ``serve``, under gunicorn with the worker class
KIND (sync, gthread, gevent); granian is ``mock-aspsp serve`` itself. Bench-only: what ships is
``mock_aspsp.tools.serving``.
"""
import sys

from gunicorn.app.base import BaseApplication

from mock_aspsp.app import create_app
from mock_aspsp.config import Config, from_environment, with_state_file
from mock_aspsp.tools.serving import AccessLog, Limits, _share_with_workers


class Product(BaseApplication):
    def __init__(self, kind: str, port: int, workers: int, config: Config):
        self.settings = {"bind": f"127.0.0.1:{port}", "workers": workers, "worker_class": kind,
                         "threads": Limits.threads, "keepalive": int(Limits.client_timeout), "preload_app": True,
                         "accesslog": None, "errorlog": "-", "control_socket_disable": True}
        self.product = AccessLog(create_app(config))
        _share_with_workers()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        return self.product


if __name__ == "__main__":
    kind, workers, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[sys.argv.index("--port") + 1])
    with with_state_file(from_environment()) as config:  # a state file of its own, as serve has
        Product(kind, port, workers, config).run()
