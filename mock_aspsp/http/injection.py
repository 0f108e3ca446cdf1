"""Applies the fault rules (``faults``) to incoming requests, before any view runs."""
from __future__ import annotations

import contextlib
import re
import socket
import time
from decimal import Decimal
from functools import partial
from typing import Optional

from flask import Response, g, request

from ..formats import jsonio
from .connection import request_socket
from ..bank.establishment import bank_code_from_host
from ..bank.faults import FaultRule, amount_of, candidates, fires, matches_details
from .responses import by_audience
from ..sandbox import Snapshot
from .web import request_body, sandbox

_FUNDS = re.compile(r"(?:/stet/psd2)?/([^/]+)/funds-confirmations")


def classify(path: str) -> tuple[Optional[str], Optional[str]]:
    """(endpoint, API version) of a path, as rules name them."""
    if path in ("/token", "/revoke"):
        return path[1:], None
    if path == "/authorize" or path.startswith("/sca/"):
        return "authorize", None
    match = _FUNDS.fullmatch(path)
    return ("funds-confirmations", match.group(1)) if match else (None, None)


def _details(endpoint: str) -> tuple[Optional[str], Optional[str], Optional[Decimal]]:
    """(TPP, IBAN, amount) of the request, for rules that look further than the path."""
    if endpoint != "funds-confirmations":
        source = request.form if request.mimetype == "application/x-www-form-urlencoded" else request.args
        return source.get("client_id"), None, None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    grant = sandbox().store.grant_by_access_token(token.strip()) if scheme.lower() == "bearer" else None
    try:
        body = jsonio.loads(request_body(request) or b"null")  # amounts as Decimal: a rule's amount is exact
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    body = body if isinstance(body, dict) else {}
    account = body.get("accountId") if isinstance(body.get("accountId"), dict) else {}
    amount = body.get("instructedAmount") if isinstance(body.get("instructedAmount"), dict) else {}
    return (grant.client_id if grant else None), account.get("iban"), amount_of(amount.get("amount"))


def inject_faults(snapshot: Snapshot) -> Optional[Response]:
    """The first fault rule of ``snapshot`` that fires on this request acts on it (None: none did)."""
    endpoint, version = classify(request.path)
    if endpoint is None:
        return None
    bank = bank_code_from_host(request.host) or snapshot.scenario.default_bank
    details = None
    for rule in candidates(snapshot.rules, endpoint, version, bank):
        if rule.match.needs_details:
            details = details or _details(endpoint)
            if not matches_details(rule, *details):
                continue
        if sandbox().store.rule_fires(rule.name, partial(fires, rule)):
            return _act(rule)
    return None


def _act(rule: FaultRule) -> Optional[Response]:
    g.fault_rule = rule.name
    action = rule.action
    if action.delay:
        time.sleep(action.delay.total_seconds())  # injected latency: the point of the rule
    if action.drop:
        return _drop(rule)
    if action.status is None:
        return None  # latency only: the request then goes on as usual
    headers = {"Retry-After": str(action.retry_after)} if action.retry_after is not None else {}
    return by_audience(action.status, rule.error_message(), headers)


def _drop(rule: FaultRule) -> Response:
    """Close the TCP connection without a byte of answer."""
    sock = request_socket(request.environ)
    g.error_message = f"connection dropped by fault rule {rule.name}"
    if sock is not None:
        with sock, contextlib.suppress(OSError):  # a socket already gone is dropped either way
            sock.shutdown(socket.SHUT_RDWR)
        return Response(status=204)
    # No socket to close (Flask's test client): the nearest visible outcome.
    return by_audience(502, f"connection dropped by fault rule {rule.name}")
