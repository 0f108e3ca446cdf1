"""The application factory: one Flask app per server process.

Every error leaves in the shape its audience expects (STET ErrorModel on the
API, RFC 6749 JSON on ``/token``, an HTML page in the browser), and no request,
however malformed, gets a stack trace.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from . import journal
from .clock import Clock, isoformat
from .config import Config
from .errors import ApiError, OAuthError, PageError, error_model
from .sandbox import Sandbox
from .scenario import read_scenario
from .store import SqliteStore, StoreUnavailable
from .web import sandbox

log = logging.getLogger("mock_aspsp")

BROWSER_PATHS = ("/authorize", "/sca/")
OAUTH_PATHS = ("/token", "/revoke")


def create_app(config: Config, clock: Clock = Clock()) -> Flask:
    """Build the app; raises ScenarioError when the scenario file is bad."""
    scenario, text = read_scenario(config.scenario)
    store = SqliteStore(str(config.db), journal_limit=scenario.settings.journal_size)
    app = Flask(__name__)
    app.config["MOCK_ASPSP"] = config
    app.json.sort_keys = False
    app.extensions["mock_aspsp"] = Sandbox(store, scenario, text, clock)

    from .admin import blueprint as admin
    from .oauth.authorize import blueprint as authorize
    from .oauth.endpoints import blueprint as oauth
    from .stet.funds import blueprint as funds

    app.register_blueprint(authorize)
    app.register_blueprint(oauth)
    app.register_blueprint(funds)
    app.register_blueprint(__import__("mock_aspsp.stet.openapi", fromlist=["blueprint"]).blueprint)
    app.register_blueprint(admin)

    app.before_request(_take_snapshot)
    app.after_request(_echo_request_id)
    app.after_request(journal.record)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(OAuthError, _oauth_error)
    app.register_error_handler(PageError, _page_error)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _take_snapshot() -> None:
    g.snapshot = sandbox().snapshot()


def _echo_request_id(response: Response) -> Response:
    request_id = request.headers.get("X-Request-ID")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


def _timestamp() -> str:
    snapshot = g.get("snapshot")
    return isoformat(snapshot.now if snapshot else sandbox().clock.real())


def api_error_response(status: int, message: str, headers: dict | None = None) -> Response:
    g.error_message = message
    response = jsonify(error_model(status, message, request.path, _timestamp()))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _api_error(error: ApiError) -> Response:
    return api_error_response(error.status, error.message, error.headers)


def _oauth_error(error: OAuthError) -> Response:
    g.error_message = error.description
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_error(error: PageError) -> tuple[str, int]:
    g.error_message = error.message
    return render_template("error.html", title=error.title, message=error.message), error.status


def _store_unavailable(error: StoreUnavailable) -> Response:
    log.error("state store unavailable: %s", error)
    return _by_audience(503, "the sandbox's state store is unavailable; retry shortly")


def _http_error(error: HTTPException) -> Response:
    """Routing and protocol errors (404, 405, 413, ...) in the audience's shape."""
    message = {
        404: f"no resource at {request.method} {request.path}",
        405: f"method {request.method} is not allowed on {request.path}",
    }.get(error.code or 500, error.description or error.name)
    response = _by_audience(error.code or 500, message)
    if error.code == 405:
        allowed = error.get_response().headers.get("Allow")
        if allowed:
            response.headers["Allow"] = allowed
    return response


def _unexpected_error(error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return _by_audience(500, "internal error of the sandbox; the request journal has the details")


def _by_audience(status: int, message: str) -> Response:
    path = request.path
    if path.startswith(OAUTH_PATHS):
        error = "temporarily_unavailable" if status == 503 else ("server_error" if status >= 500 else "invalid_request")
        return _oauth_error(OAuthError(error, message, status))
    if path.startswith(BROWSER_PATHS):
        body, code = _page_error(PageError("Service indisponible" if status >= 500 else "Page introuvable", message, status))
        return Response(body, code, content_type="text/html; charset=utf-8")
    return api_error_response(status, message)
