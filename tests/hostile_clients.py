"""Hostile and clumsy clients against a served process, and a normal client measured meanwhile.

Used by the e2e tests (generous bounds) and by ``make bench`` (the figures). Loopback only; every
loop is bounded by a deadline and every socket has a timeout.

* ``idle``: connects and sends nothing (in TLS mode: never starts the handshake);
* ``half_handshake`` (TLS): sends the first bytes of a ClientHello, then nothing;
* ``header_trickle``: sends a request head one byte at a time;
* ``body_trickle``: sends a complete head announcing a body, then the body one byte at a time.

Each hostile connection the server closes is opened again at once ("reconnecting keeps it down"),
and how long the server kept it is recorded: the client timeout at work.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Optional
from urllib.parse import urlsplit

IBAN = "FR7630007000020009876540145"  # bruno, the headless PSU of the default scenario
FUNDS_PATH = "/stet/psd2/v1.4.2/funds-confirmations"
FUNDS_BODY = json.dumps({"paymentCoverageRequestId": "hostile", "instructedAmount": {"currency": "EUR",
                         "amount": "10.00"}, "accountId": {"iban": IBAN}})
# The first bytes of a TLS ClientHello record: handshake, TLS 1.0 record version, a length never sent.
CLIENT_HELLO_START = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
STEP_S = 0.5  # a trickling client's pause between two bytes


@dataclass
class Hostility:
    """What the hostile clients saw: how long the server kept each connection it closed, by kind."""
    kept_s: dict[str, list[float]] = field(default_factory=dict)
    opened: int = 0

    def closed(self, kind: str, seconds: float) -> None:
        self.kept_s.setdefault(kind, []).append(seconds)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _hostile(kind: str, url: str, token: str, deadline: float, seen: Hostility) -> None:
    """One hostile client until ``deadline``, reconnecting whenever the server closes it."""
    head = (f"POST {FUNDS_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n").encode()
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection(_address(url), timeout=5)
        except OSError:
            time.sleep(STEP_S)  # the server refused: try again shortly, within the deadline
            continue
        seen.opened += 1
        began = time.monotonic()
        if kind == "half_handshake":
            sock.sendall(CLIENT_HELLO_START)
        elif kind == "body_trickle":
            sock.sendall(head + f"Content-Length: {len(FUNDS_BODY)}\r\n\r\n".encode())
        to_send = {"header_trickle": head + b"X-Slow: " + b"a" * 4000, "body_trickle": FUNDS_BODY.encode()}.get(kind, b"")
        closed = _hold(sock, to_send, deadline)
        sock.close()
        if closed:
            seen.closed(kind, time.monotonic() - began)


def _hold(sock: socket.socket, to_send: bytes, deadline: float) -> bool:
    """Hold ``sock`` open, sending ``to_send`` a byte per step; True when the server closed it first."""
    sock.settimeout(STEP_S)
    sent = 0
    while time.monotonic() < deadline:
        if sent < len(to_send):
            try:
                sock.send(to_send[sent:sent + 1])
            except OSError:
                return True
            sent += 1
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


@dataclass
class Normal:
    """The normal client's calls: latencies (s) and the answers that were not 200."""
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")

    def max_ms(self) -> float:
        return 1000 * max(self.latencies, default=float("nan"))


def _connection(url: str, context: Optional[ssl.SSLContext], timeout: float) -> http.client.HTTPConnection:
    host, port = _address(url)
    if context is not None:
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def normal_calls(url: str, token: str, deadline: float, context: Optional[ssl.SSLContext] = None,
                 pause_s: float = 0.01, timeout: float = 30, health: bool = True) -> Normal:
    """Health and funds-confirmations in turn until ``deadline``, each on a new connection (a new client
    is what a stalled server fails first); ``health=False``: funds-confirmations only (the bench's bare
    Flask baseline has no health endpoint)."""
    result = Normal()
    calls = [("POST", FUNDS_PATH, FUNDS_BODY, {"Authorization": f"Bearer {token}", "X-Request-ID": "normal",
                                               "Content-Type": "application/json"})]
    if health:
        calls.append(("GET", "/__admin/health", None, {}))
    turn = 0
    while time.monotonic() < deadline:
        method, path, body, headers = calls[turn % len(calls)]
        turn += 1
        began = time.monotonic()
        connection = _connection(url, context, timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                result.failures.append(f"{method} {path}: {response.status}")
        except OSError as error:
            result.failures.append(f"{method} {path}: {error!r}")
        finally:
            connection.close()
        result.latencies.append(time.monotonic() - began)
        time.sleep(pause_s)  # a steady client, not a load generator
    return result


@contextmanager
def hostile_clients(url: str, token: str, seconds: float, counts: dict[str, int]) -> Iterator[Hostility]:
    """``counts`` hostile clients of each kind, for ``seconds`` (the ``with`` block should not outlast it)."""
    seen = Hostility()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_hostile, args=(kind, url, token, deadline, seen), daemon=True)
               for kind, count in counts.items() for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        for thread in threads:
            thread.join(timeout=seconds + 10)


def under_attack(url: str, token: str, seconds: float, counts: dict[str, int],
                 context: Optional[ssl.SSLContext] = None, **normal) -> tuple[Normal, Hostility]:
    """The normal client's calls while the hostile clients of ``counts`` hold on (they get a second's head
    start, so the normal calls all meet them)."""
    with hostile_clients(url, token, seconds + 1, counts) as seen:
        time.sleep(1)  # the hostile clients connect first: bounded by the with block's own deadline
        calls = normal_calls(url, token, time.monotonic() + seconds, context, **normal)
    return calls, seen


def idle_capacity(url: str, token: str, steps: list[int], context: Optional[ssl.SSLContext] = None,
                  limit_ms: float = 100, health: bool = True, round_s: float = 2) -> int:
    """The most idle connections (from ``steps``, rising) held open while every normal call of a round of
    ``round_s`` still answers within ``limit_ms`` (each step tried twice); 0 if even the first step fails."""
    held = 0
    for count in steps:
        if not any(_holds(url, token, count, context, limit_ms, health, round_s) for _ in range(2)):  # twice: this VM stalls
            return held
        held = count
    return held


def _holds(url: str, token: str, count: int, context: Optional[ssl.SSLContext], limit_ms: float,
           health: bool, round_s: float) -> bool:
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(_address(url), timeout=5))
        time.sleep(0.2)  # the server has accepted them all
        normal = normal_calls(url, token, time.monotonic() + round_s, context, timeout=limit_ms / 1000 * 5,
                              health=health)
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()
    return not normal.failures and bool(normal.latencies) and normal.max_ms() <= limit_ms
