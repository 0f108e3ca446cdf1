"""No request can crash a served process: every framing error gets a 4xx, and the workers live on.

Each malformed request goes to a real server (plain HTTP: granian; HTTPS: gunicorn's threaded
workers) on a raw socket. Where the server lets the app answer, the answer is the app's, in the
audience's shape; where the server refuses the framing itself, its own 400 (or 413/414/431). Then
the same worker processes are there, the next request is answered by one of them, and the log
holds no traceback.
"""
import json
import socket
import ssl
import subprocess
import time

import pytest
import requests

from served_process import served_process, tls_args

pytestmark = pytest.mark.e2e

FUNDS = "/stet/psd2/v1.4.2/funds-confirmations"
HEALTH = "/__admin/health"


def head(path, *headers, method="POST"):
    return (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n" + "".join(f"{h}\r\n" for h in headers)).encode("latin-1")


# (name, raw request); "{token}" is replaced by a valid access token.
CASES = [
    ("content-length -1", head(FUNDS, "Content-Length: -1") + b"\r\n"),
    ("content-length -1 on health", head(HEALTH, "Content-Length: -1", method="GET") + b"\r\n"),
    ("content-length not a number", head(FUNDS, "Content-Length: ten") + b"\r\n"),
    ("content-length +1", head(FUNDS, "Content-Length: +1") + b"\r\nx"),
    ("content-length twice, different", head(FUNDS, "Content-Length: 1", "Content-Length: 2") + b"\r\nxx"),
    ("content-length with transfer-encoding",
     head(FUNDS, "Authorization: Bearer {token}", "Content-Type: application/json", "Content-Length: 5",
          "Transfer-Encoding: chunked") + b"\r\n0\r\n\r\n"),
    ("transfer-encoding identity", head(FUNDS, "Transfer-Encoding: identity") + b"\r\n"),
    ("chunked garbage",
     head(FUNDS, "Authorization: Bearer {token}", "Content-Type: application/json", "Transfer-Encoding: chunked")
     + b"\r\nzz\r\n{}\r\n0\r\n\r\n"),
    ("request line of 64 KB", f"GET /{'a' * 65536} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()),
    ("header without a colon", head(HEALTH, "Bogus header", method="GET") + b"\r\n"),
    ("NUL in a header", head(HEALTH, "X-Odd: a\x00b", method="GET") + b"\r\n"),
]


def send_raw(url, data, context=None, timeout=10):
    """(status, headers, body) of the answer to ``data`` on a fresh connection; status 0: no answer."""
    host, port = url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname=host)
    received = b""
    with sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may refuse before reading it all; its answer is read below
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                head_end = received.find(b"\r\n\r\n")
                if head_end >= 0:
                    length = next((int(line.split(b":")[1]) for line in received[:head_end].split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    if len(received) >= head_end + 4 + length:
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    if not received.startswith(b"HTTP/1."):
        return 0, {}, b""
    head_text, _, body = received.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def workers_of(served):
    found = subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True, text=True).stdout
    return set(map(int, found.split()))


def all_workers(served, count=2):
    """The workers once the master has started them all (it forks one after the other; bounded wait)."""
    deadline = time.monotonic() + 20
    while len(workers_of(served)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return workers_of(served)


@pytest.fixture(scope="module", params=["http", "https"])
def server(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"malformed-{request.param}")
    args, ca = tls_args(workdir) if request.param == "https" else ([], None)
    with served_process(workdir, *args, ca_file=ca) as served:
        context = ssl.create_default_context(cafile=str(ca)) if ca else None
        verify = str(ca) if ca else True
        yield served, context, verify, served.link().access_token, all_workers(served)


@pytest.mark.parametrize("name,data", CASES, ids=[name for name, _ in CASES])
def test_malformed_request_is_refused_and_the_workers_live_on(server, name, data):
    served, context, verify, token, workers = server
    status, headers, body = send_raw(served.url, data.replace(b"{token}", token.encode()), context)
    assert status in (400, 413, 414, 431), (name, status, headers, body[:300])
    if headers.get("content-type", "").startswith(("application/json", "application/hal+json")):  # the app's
        answer = json.loads(body)
        assert answer["status"] == status and answer["message"], answer
    assert b"Traceback" not in body
    if name == "content-length with transfer-encoding":  # RFC 9112 6.1: chunked wins, then close
        assert headers.get("connection", "").lower() == "close", headers
    assert workers_of(served) == workers, "a worker died or was replaced"
    after = requests.get(f"{served.url}{HEALTH}", headers={"X-Request-ID": f"after {name}"}, timeout=10,
                         verify=verify)
    assert after.status_code == 200
    answered_by = [json.loads(line)["pid"] for line in served.log_text().splitlines()
                   if line.startswith("{") and json.loads(line)["x_request_id"] == f"after {name}"]
    assert answered_by and answered_by[-1] in workers
    assert "Traceback" not in served.log_text()
