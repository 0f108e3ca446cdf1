"""Applies the fault rules (``bank.faults``) to incoming requests, before any view runs."""
from __future__ import annotations

import contextlib
import socket
import time
from decimal import Decimal
from functools import partial
from typing import Optional

from flask import Response, g, request

from ..bank.faults import FaultRule, amount_of, candidates, fires, matches_details
from ..formats import jsonio
from ..sandbox import Snapshot
from .connection import request_socket
from .responses import by_audience
from .routes import current_route
from .web import asked_bank, request_body, sandbox


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
    route = current_route()
    if route.endpoint is None:
        return None
    details = None
    for rule in candidates(snapshot.rules, route.endpoint, route.version, asked_bank(request.host, snapshot.scenario)):
        if rule.match.needs_details:
            details = details or _details(route.endpoint)
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
