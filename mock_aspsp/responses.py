"""Error responses in the shape each audience expects.

STET ErrorModel for the API and the admin API, RFC 6749 JSON for ``/token``
and ``/revoke``, an HTML page for the PSU's browser. ``by_audience`` picks the
shape from the path, for errors raised before any view knows who is calling
(routing errors, an unavailable store, injected faults).
"""
from __future__ import annotations

from typing import Optional

from flask import Response, g, jsonify, render_template, request

from . import page_problems
from .clock import isoformat
from .errors import OAuthError, PageError, error_model
from .stet.versions import JSON, version_of_path
from .web import requested_bank, sandbox

BROWSER_PATHS = ("/authorize", "/sca/")
OAUTH_PATHS = ("/token", "/revoke")


def _timestamp() -> str:
    snapshot = g.get("snapshot")
    return isoformat(snapshot.now if snapshot else sandbox().clock.real())


def api_error(status: int, message: str, headers: Optional[dict] = None) -> Response:
    """ErrorModel, sent as the media type the path's STET version declares for its errors."""
    g.error_message = message
    response = jsonify(error_model(status, message, request.path, _timestamp()))
    version = version_of_path(request.path)
    response.content_type = version.error_media_type if version else JSON
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
    bank = snapshot.scenario.bank(requested_bank(snapshot.scenario)[1]) if snapshot else None
    body = render_template("error.html", problem=error.problem, detail=error.detail, bank=bank)
    return Response(body, error.status, content_type="text/html; charset=utf-8")


def by_audience(status: int, message: str, headers: Optional[dict] = None) -> Response:
    path = request.path
    if path.startswith(OAUTH_PATHS):
        error = "temporarily_unavailable" if status in (429, 503) else (
            "server_error" if status >= 500 else "invalid_request")
        return oauth_error(OAuthError(error, message, status, headers))
    if path.startswith(BROWSER_PATHS):
        response = page_error(PageError(page_problems.for_status(status), message, status))
        response.headers.update(headers or {})
        return response
    return api_error(status, message, headers)
