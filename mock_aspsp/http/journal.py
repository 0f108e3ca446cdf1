"""The request journal: what QA reads back to see what a TPP sent and what it got.

One entry per API, OAuth or page request (the route table says which are: the
admin API is not journaled), kept in the store, bounded by the scenario's
``journal_size``; ``observed`` holds what the go-live checks judge (``observed``). An answered funds
check names its pair (``records.pair_ref``), the amount asked and the answer: the PSU's access dashboard
lists them.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Optional

from flask import Request, Response
from werkzeug.exceptions import HTTPException

from ..bank.clock import isoformat
from ..store.records import StoreUnavailable
from .observed import observe
from .web import asked_bank, request_body, sandbox

log = logging.getLogger("mock_aspsp")

BODY_MAX = 4096  # characters of a request body kept in its entry
SECRET_HEADERS = ("authorization", "cookie", "proxy-authorization")  # their scheme is kept, the secret masked
# The same, as the WSGI environ names them: each header's name is looked up, not lower-cased, per request.
_SECRET_KEYS = frozenset("HTTP_" + name.upper().replace("-", "_") for name in SECRET_HEADERS)
_FRAMING_KEYS = frozenset(("CONTENT_TYPE", "CONTENT_LENGTH"))
SECRET_FIELDS = ("password", "otp", "refresh_token", "code_verifier", "client_secret", "csrf_token")


def _headers(request: Request) -> dict:
    """What the TPP sent, without its secrets: a bearer token or a cookie is shown as ``Bearer ***``.

    Read from the WSGI environ as werkzeug's header map lists it (same names, same order). Which of
    an environ's keys are headers is worked out once per set of keys (``_header_keys``): a client
    sends the same headers on every call, and the environ also holds the server's own variables
    (granian starts it from the process environment)."""
    environ = request.environ
    kept = {}
    for key, name in _header_keys(tuple(environ)):
        value = environ[key]
        if key in _SECRET_KEYS:
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} ***" if secret and key != "HTTP_COOKIE" else "***"
        if value or key not in _FRAMING_KEYS:
            kept[name] = value
    return kept


# Bounded: a client chooses its header names, so at most this many request heads' names are kept.
@lru_cache(maxsize=16)
def _header_keys(keys: tuple) -> tuple:
    """(environ key, header name) of each header among an environ's ``keys``, in their order."""
    return tuple((key, _header_name(key)) for key in keys
                 if (key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"))
                 or key in _FRAMING_KEYS)


@lru_cache(maxsize=512)  # bounded: a client chooses its header names
def _header_name(key: str) -> str:
    """``HTTP_X_REQUEST_ID`` -> ``X-Request-Id``, as werkzeug's ``EnvironHeaders`` spells it."""
    return key.removeprefix("HTTP_").replace("_", "-").title()


def _body(request: Request) -> str:
    """The body as read (``web.request_body``), or the parsed form's fields, their secrets masked; cut at BODY_MAX."""
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            fields = request.form
        except HTTPException:
            return ""
        text = "&".join(f"{k}={'***' if k in SECRET_FIELDS else v}" for k, v in fields.items(multi=True))
    else:
        try:
            raw = request_body(request)  # read by now, unless the request was refused before its body mattered
        except HTTPException:
            return ""
        text = raw.decode("utf-8", "replace")
    return text if len(text) <= BODY_MAX else text[:BODY_MAX] + f"… ({len(text)} characters)"


def _client_id(request: Request, context: Any) -> str | None:
    client_id = context.get("client_id") or (context.get("journey_read") or {}).get("client_id")
    if client_id:
        return client_id
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            return request.form.get("client_id")
        except HTTPException:  # a body too large to read (413): the answer already says so
            return None
    return request.args.get("client_id")


def record(request: Request, context: Any, response: Response, request_id: Optional[str]) -> None:
    """Journal one exchange; ``context`` is the request's ``flask.g`` (its route and snapshot, errors, client)."""
    snapshot = context.get("snapshot")
    if snapshot is None or not context.route.journaled:  # the route is classified before the snapshot is taken
        return
    entry = {
        "time": isoformat(snapshot.now),
        "method": request.method,
        "path": request.path,
        "bank": asked_bank(request.host, snapshot.scenario),
        "client_id": _client_id(request, context),
        "status": response.status_code,
        "x_request_id": request_id,
        "query": request.query_string.decode("latin-1"),
        "headers": _headers(request),
        "body": _body(request),
        "error": context.get("error_message"),
        "validation_errors": context.get("validation_errors", []),
        "fault_rule": context.get("fault_rule"),
        "observed": observe(request, context, response),
        "funds_check": context.get("funds_check"),  # an answered funds check: its pair, the amount, the answer
        "revocation": context.get("revocation"),  # the PSU revoked an access on its dashboard
    }
    try:
        sandbox().store.record(entry)
    except StoreUnavailable as error:
        # The answer is decided (tokens may have been issued): it goes out, only its journal entry is lost.
        log.warning("request journal: entry for %s %s lost, the store is unavailable: %s",
                    request.method, request.path, error)
