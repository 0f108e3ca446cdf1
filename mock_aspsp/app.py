"""The application factory: one Flask app per server process.

Every error leaves in the shape its audience expects (see ``http.responses``), and
no request, however malformed, gets a stack trace.
"""
from __future__ import annotations

import logging
import re
from typing import Optional

from flask import Flask, Request, Response, g, request
from flask.ctx import RequestContext
from flask.sessions import NullSession
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, Rule

from .bank.clock import Clock
from .bank.scenario import read_scenario
from .config import Config
from .formats.quoting import QUOTE_MAX
from .formats.validation import compiled
from .http import injection, journal
from .http.errors import ApiError, OAuthError, PageError, UnknownBank
from .http.responses import api_error, by_audience, oauth_error, page_error, unknown_bank
from .http.routes import classify, current_route
from .http.web import MAX_BODY, sandbox
from .sandbox import Sandbox
from .stet.funds import REQUEST_DEFINITION, funds_confirmations
from .stet.versions import DECOMMISSIONED, PREFIXES, VERSIONS, lifecycle_headers, removed_message
from .store import open_store
from .store.records import StoreUnavailable

log = logging.getLogger("mock_aspsp")

# Set in the environ of a request the route table dispatches (``_dispatch_funds_confirmations``).
ROUTED_BY_TABLE = "mock_aspsp.route"


class RuleBuiltOnDemand(Rule):
    """A URL rule whose URL builders are compiled the first time a URL is built from it. werkzeug compiles
    two per rule as the rule is added, 40 ms for the app's rules (a fifteenth of start-up), and the
    sandbox builds no URL from a rule: its links and redirects are written out."""

    def _compile_builder(self, append_unknown: bool = True):
        def build(rule: Rule, *args, **kwargs):
            builder = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, "_build_unknown" if append_unknown else "_build", builder)  # as Rule.compile does
            return builder(*args, **kwargs)

        return build


class BankApp(Flask):
    """Flask, except that a request the route table dispatches itself gets no URL adapter (werkzeug's
    URL map is never consulted for it), and URL builders are compiled on demand."""

    url_rule_class = RuleBuiltOnDemand

    def create_url_adapter(self, request: Optional[Request]) -> Optional[MapAdapter]:
        if request is not None and ROUTED_BY_TABLE in request.environ:
            return None
        return super().create_url_adapter(request)


def create_app(config: Config, clock: Clock = Clock()) -> Flask:
    """Build the app; raises ScenarioError when the scenario file is bad, ValueError for an unknown store
    URL and StoreUnavailable when the store (Redis) cannot be reached."""
    scenario, text = read_scenario(config.scenario)
    store = open_store(config.store, str(config.db), journal_limit=scenario.settings.journal_size)
    app = BankApp(__name__)
    app.config["MOCK_ASPSP"] = config
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # 413, in the audience's shape
    app.extensions["mock_aspsp"] = Sandbox(store, scenario, text, clock, publish=config.publish_scenario)
    for version in VERSIONS:  # compiled now, not on each worker's first call, and shared after the fork
        compiled(version.schema_file, REQUEST_DEFINITION)

    from .http import admin_conformance  # noqa: F401  (its routes join the admin blueprint)
    from .http.admin import blueprint as admin
    from .http.console import blueprint as console
    from .oauth.authorize import blueprint as authorize
    from .oauth.dashboard import blueprint as dashboard
    from .oauth.endpoints import blueprint as oauth
    from .stet.funds import blueprint as funds
    from .stet.openapi import blueprint as openapi
    from .stet.registration import blueprint as registration
    from .stet.seal import blueprint as seal

    for blueprint in (authorize, dashboard, oauth, funds, registration, openapi, seal, admin, console):
        app.register_blueprint(blueprint)

    app.before_request(_begin)
    app.after_request(_finish)
    app.register_error_handler(ApiError, lambda e: api_error(e.status, e.message, e.headers))
    app.register_error_handler(OAuthError, oauth_error)
    app.register_error_handler(PageError, page_error)
    app.register_error_handler(UnknownBank, unknown_bank)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.wsgi_app = _ascii_query_string(_dispatch_funds_confirmations(app, app.wsgi_app))
    return app


def _dispatch_funds_confirmations(app: BankApp, wsgi_app):
    """``POST .../funds-confirmations``, nearly all of a sandbox's traffic, dispatched by the route table.

    Flask's own dispatch of a request (URL map look-up, session, hook and signal machinery) cost about
    a quarter of a funds confirmation (BENCHMARKS.md). Here the request still runs in Flask's request
    context, through the same steps as every other request: ``_begin``, the view, the app's error
    handlers, ``_finish``. Any other method on these paths (405, OPTIONS) and any other path is Flask's."""
    def app_with_dispatch(environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").endswith("/funds-confirmations"):
            return wsgi_app(environ, start_response)
        current = app.request_class(environ)
        current.json_module = app.json
        route = classify(current.path)
        if route.endpoint != "funds-confirmations":
            return wsgi_app(environ, start_response)
        environ[ROUTED_BY_TABLE] = route
        with RequestContext(app, environ, request=current, session=NullSession()):  # the API has no session
            g.route = route
            try:
                try:
                    response = _begin() or funds_confirmations(current.path.rsplit("/", 2)[1])
                except Exception as error:  # the app's error handlers answer, as in Flask's dispatch
                    response = app.make_response(app.handle_user_exception(error))
                response = _finish(response)
            except Exception as error:  # a failure after the answer was decided: Flask's last resort
                response = app.handle_exception(error)
            return response(environ, start_response)

    return app_with_dispatch


def _ascii_query_string(wsgi_app):
    """Raw bytes in the query string (a byte 0xFF, not ``%FF``) are percent-encoded before Flask sees them:
    werkzeug fails on raw bytes that are not UTF-8, and keeps percent-encoded ones as they are."""
    def app(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            raw = query.encode("latin-1", "replace")  # WSGI strings are latin-1 (PEP 3333)
            environ["QUERY_STRING"] = re.sub(rb"[\x80-\xff]", lambda m: b"%%%02X" % m[0][0], raw).decode("ascii")
        return wsgi_app(environ, start_response)

    return app


def _begin() -> Optional[Response]:
    """Before any view: the request's route (which every later step reads), its snapshot of shared state,
    a decommissioned version's 404, then the fault rules (which may answer)."""
    version = current_route().version
    snapshot = g.snapshot = sandbox().snapshot()
    if version is not None:
        settings = snapshot.scenario.settings
        if settings.lifecycle(version).state(snapshot.now) == DECOMMISSIONED:
            serving = tuple(p for p in PREFIXES if settings.lifecycle(p).state(snapshot.now) != DECOMMISSIONED)
            raise ApiError(404, removed_message(version, settings.lifecycle(version), serving))
    return injection.inject_faults(snapshot) if snapshot.rules else None


def _finish(response: Response) -> Response:
    """After every view: echo X-Request-ID, a deprecated version's Warning and Sunset, then journal the
    exchange."""
    current = request._get_current_object()  # one context look-up for the request's many reads
    request_id = current.headers.get("X-Request-ID")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    version, snapshot = current_route().version, g.get("snapshot")
    if version is not None and snapshot is not None:
        response.headers.update(lifecycle_headers(version, snapshot.scenario.settings.lifecycle(version), snapshot.now))
    journal.record(current, g._get_current_object(), response, request_id)
    return response


def _store_unavailable(error: StoreUnavailable) -> Response:
    log.error("state store unavailable: %s", error)
    return by_audience(503, "the sandbox's state store is unavailable; retry shortly")


def _http_error(error: HTTPException) -> Response:
    """Routing and protocol errors (404, 405, 413, ...) in the audience's shape."""
    message = {
        404: f"no resource at {request.method} {request.path}",
        405: f"method {request.method} is not allowed on {request.path}",
    }.get(error.code or 500, error.description or error.name)
    response = by_audience(error.code or 500, message)
    if error.code == 405:
        allowed = error.get_response().headers.get("Allow")
        if allowed:
            response.headers["Allow"] = allowed
    return response


def _unexpected_error(error: Exception) -> Response:
    """A bug: the traceback goes to the server's log; the request's journal entry names the error
    (the admin API is not journaled, so its answer points at the log)."""
    log.exception("unexpected error on %s %s", request.method, request.path)
    if not current_route().journaled:
        return by_audience(500, "internal error of the sandbox; the server's log has the details")
    response = by_audience(500, "internal error of the sandbox; the request journal has the details")
    g.error_message = f"internal error: {type(error).__name__}: {str(error)[:QUOTE_MAX]}"
    return response
