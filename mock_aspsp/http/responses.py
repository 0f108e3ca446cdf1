"""Error responses in the shape each audience expects.

STET ErrorModel for the API and the admin API, RFC 6749 JSON for ``/token``
and ``/revoke``, an HTML page for the PSU's browser. ``by_audience`` picks the
shape from the request's route (``routes``), for errors raised before any view
knows who is calling (routing errors, an unknown bank, an unavailable store,
injected faults).
"""
from __future__ import annotations

from typing import Optional

from flask import Response, g, jsonify, render_template, request

from ..bank.clock import isoformat
from ..stet.versions import JSON, version_for
from . import page_problems
from .errors import OAuthError, PageError, UnknownBank, error_model
from .routes import OAUTH, PAGE, current_route
from .web import asked_bank, sandbox


def _timestamp() -> str:
    snapshot = g.get("snapshot")
    return isoformat(snapshot.now if snapshot else sandbox().clock.real())


def api_error(status: int, message: str, headers: Optional[dict] = None) -> Response:
    """ErrorModel, sent as the media type the path's STET version declares for its errors."""
    g.error_message = message
    response = jsonify(error_model(status, message, request.path, _timestamp()))
    version = current_route().version
    response.content_type = version_for(version).error_media_type if version else JSON
    response.status_code = status
    response.headers.update(headers or {})
    return response


def oauth_error(error: OAuthError) -> Response:
    g.error_message = error.description
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def page_error(error: PageError) -> Response:
    g.error_message = error.detail or error.problem.message
    snapshot = g.get("snapshot")
    bank = snapshot.scenario.bank(asked_bank(request.host, snapshot.scenario)) if snapshot else None
    body = render_template("error.html", problem=error.problem, detail=error.detail, bank=bank)
    return Response(body, error.status, content_type="text/html; charset=utf-8")


def by_audience(status: int, message: str, headers: Optional[dict] = None) -> Response:
    audience = current_route().audience
    if audience == OAUTH:
        error = "temporarily_unavailable" if status in (429, 503) else (
            "server_error" if status >= 500 else "invalid_request")
        return oauth_error(OAuthError(error, message, status, headers))
    if audience == PAGE:
        response = page_error(PageError(page_problems.for_status(status), message, status))
        response.headers.update(headers or {})
        return response
    return api_error(status, message, headers)


def unknown_bank(error: UnknownBank) -> Response:
    if current_route().audience == PAGE:
        return page_error(PageError(page_problems.UNKNOWN_BANK, f"No bank with code {error.code} is served here."))
    return by_audience(404, f"no bank with code {error.code} is served here")
