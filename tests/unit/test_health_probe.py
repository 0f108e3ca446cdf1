"""``mock-aspsp health``, the container's health check: where it looks, what counts as healthy, and that it
stays light (it runs every few seconds). Against small loopback servers; the real one, in plain and TLS
mode, is in tests/e2e/test_dockerfile_recipe.py."""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mock_aspsp.testing import free_port
from mock_aspsp.tools.cli import main
from mock_aspsp.tools.health import local_url, problem


@pytest.mark.parametrize("env, url", [
    ({}, "http://127.0.0.1:8080"),
    ({"MOCK_ASPSP_HOST": "0.0.0.0", "MOCK_ASPSP_PORT": "9000"}, "http://127.0.0.1:9000"),
    ({"MOCK_ASPSP_HOST": "::", "MOCK_ASPSP_TLS_CERT": "/certs/server.pem"}, "https://[::1]:8080"),
    ({"MOCK_ASPSP_HOST": "10.0.0.7", "MOCK_ASPSP_PORT": "x"}, "http://10.0.0.7:8080"),  # as serve reads it
    ({"MOCK_ASPSP_TLS_CERT": ""}, "http://127.0.0.1:8080"),
])
def test_it_looks_where_serve_listens_with_the_same_variables(env, url):
    assert local_url(env) == url


@contextlib.contextmanager
def answering(status: int, body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status if self.path == "/__admin/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_a_server_answering_ok_is_healthy(capsys):
    with answering(200, json.dumps({"status": "ok", "scenario": "default"}).encode()) as url:
        assert problem(url) is None
        assert main(["health", "--url", url + "/"]) == 0
    assert capsys.readouterr().out == f"{url}: ok\n"


@pytest.mark.parametrize("status, body, reason", [
    (503, b'{"status": "down"}', "answered 503"),
    (200, b"<html>a proxy's page</html>", "health:"),
    (200, b'{"status": "starting"}', "answered {'status': 'starting'}"),
])
def test_any_other_answer_is_unhealthy_saying_why(capsys, status, body, reason):
    with answering(status, body) as url:
        assert reason in problem(url)
        assert main(["health", "--url", url]) == 1
    assert capsys.readouterr().err.startswith(f"mock-aspsp health: {url}/__admin/health")


def test_nothing_listening_is_unhealthy(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["health", "--url", url, "--timeout", "1"]) == 1
    assert "refused" in capsys.readouterr().err.lower()


def test_plain_http_asked_over_tls_is_unhealthy():
    with answering(200, b'{"status": "ok"}') as url:
        assert problem(url.replace("http:", "https:"), timeout=2)


def test_the_command_imports_no_heavy_module():
    """A health check every 10 s must not load Flask, cryptography or the schema validators."""
    code = ("import sys; from mock_aspsp.tools.cli import main; "
            "print([m for m in ('flask', 'cryptography', 'yaml', 'jsonschema', 'fastjsonschema', 'gunicorn') "
            "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
