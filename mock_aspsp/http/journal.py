"""The request journal: what QA reads back to see what a TPP sent and what it got.

One entry per API, OAuth or page request (the route table says which are: the
admin API is not journaled), kept in the store, bounded by the scenario's
``journal_size``. An answered funds check names its pair (``records.pair_ref``),
the amount asked and the answer: the PSU's access dashboard lists them.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from flask import Request, Response
from werkzeug.exceptions import HTTPException

from ..bank.clock import isoformat
from ..store.records import StoreUnavailable
from .web import asked_bank, sandbox

log = logging.getLogger("mock_aspsp")


def _client_id(request: Request, context: Any) -> str | None:
    client_id = context.get("client_id")
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
        "error": context.get("error_message"),
        "validation_errors": context.get("validation_errors", []),
        "fault_rule": context.get("fault_rule"),
        "funds_check": context.get("funds_check"),  # an answered funds check: its pair, the amount, the answer
        "revocation": context.get("revocation"),  # the PSU revoked an access on its dashboard
    }
    try:
        sandbox().store.record(entry)
    except StoreUnavailable as error:
        # The answer is decided (tokens may have been issued): it goes out, only its journal entry is lost.
        log.warning("request journal: entry for %s %s lost, the store is unavailable: %s",
                    request.method, request.path, error)
