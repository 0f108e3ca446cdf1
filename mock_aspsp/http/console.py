"""The QA console under ``/__admin/ui``: the admin API as server-rendered pages, in English.

Protected exactly as the admin API: with ``MOCK_ASPSP_ADMIN_TOKEN`` set, a login form
keeps the token in a signed session cookie and every page runs the API's own bearer
check on it (``admin.token_accepted``); without a token, the API's safeguards
(``hosts.foreign_request``: this machine's hosts only, no cross-site request). Every
form carries a CSRF token (a double-submit cookie), since a form is what a cross-site
page can send. Each action calls the admin API's own function for it (``admin``):
the console only turns a form into the API's body and its answer into a page.
"""
from __future__ import annotations

import secrets
from typing import Any, Callable, Optional

from flask import Blueprint, Response, current_app, g, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..conformance.modules import MODULES
from ..stet.versions import PREFIXES
from . import admin, admin_conformance
from .errors import ApiError
from .hosts import foreign_request
from .responses import console_error
from .web import snapshot

blueprint = Blueprint("console", __name__, url_prefix="/__admin/ui")

SESSION_COOKIE = "mock_aspsp_console"
CSRF_COOKIE = "mock_aspsp_console_csrf"
SESSION_MAX_AGE_S = 12 * 3600  # a working day: then the token is asked again
REFRESH_S = 5  # the journal's auto-refresh period
PAGES = (("overview", "Overview"), ("journal", "Request journal"), ("tokens", "Token pairs"), ("clock", "Clock"),
         ("rules", "Fault rules"), ("scenario", "Scenario"), ("tpps", "TPPs and certificates"),
         ("conformance", "Go-live readiness"))
RULE_ENDPOINTS = ("funds-confirmations", "token", "revoke", "authorize", "any")
RULE_STATUSES = (400, 401, 403, 404, 408, 429, 500, 502, 503, 504)


class ConsoleRefusal(Exception):
    """A console request refused before any page: shown as the console's error page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _sessions() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["MOCK_ASPSP"].admin_token, salt="mock-aspsp console session")


def _logged_in() -> bool:
    """The admin API's bearer check, on the token the session cookie carries."""
    try:
        token = _sessions().loads(request.cookies.get(SESSION_COOKIE, ""), max_age=SESSION_MAX_AGE_S)["token"]
    except (BadSignature, KeyError, TypeError):
        return False
    return isinstance(token, str) and admin.token_accepted(token)


@blueprint.before_request
def _guard() -> Optional[Response]:
    config = current_app.config["MOCK_ASPSP"]
    g.console_csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    if config.admin_token is None:
        problem = foreign_request(request.host, request.headers, config.allowed_hosts, "QA console")
        if problem:
            raise ConsoleRefusal(403, problem)
    if request.method == "POST":
        given = request.form.get("csrf_token", "")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(given.encode(), cookie.encode()):
            raise ConsoleRefusal(403, "the form's CSRF token is missing or stale: reload the page and send it again")
    if config.admin_token is not None and request.endpoint != "console.login" and not _logged_in():
        if request.method == "GET":
            return redirect("/__admin/ui/login", 303)
        raise ConsoleRefusal(401, "log in with the admin token first (MOCK_ASPSP_ADMIN_TOKEN)")
    return None


@blueprint.after_request
def _keep_csrf(response: Response) -> Response:
    """The CSRF cookie is set once and read back by every form; never cached, never framed."""
    if request.cookies.get(CSRF_COOKIE) != g.get("console_csrf") and g.get("console_csrf"):
        response.set_cookie(CSRF_COOKIE, g.console_csrf, httponly=True, samesite="Strict", path="/__admin/ui",
                            secure=request.is_secure)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    return response


@blueprint.errorhandler(ConsoleRefusal)
def _refused(refusal: ConsoleRefusal) -> Response:
    return console_error(refusal.status, refusal.message)


def _page(template: str, page: str, status: int = 200, **context: Any) -> Response:
    config = current_app.config["MOCK_ASPSP"]
    body = render_template(f"console/{template}", pages=PAGES, page=page, csrf=g.console_csrf,
                           logged_in=config.admin_token is not None, now=admin.clock_state()["now"],
                           scenario_name=snapshot().scenario.name, **context)
    return Response(body, status, content_type="text/html; charset=utf-8")


def _act(action: Callable[[], Any]) -> tuple[Any, Optional[str], list[str], int]:
    """(answer, error, problems, status) of one admin action: a refusal is shown on the page, not raised."""
    try:
        return action(), None, [], 200
    except admin.Refused as refused:
        return None, refused.message, refused.problems, refused.status
    except ApiError as error:
        return None, error.message, [], error.status


def _blank_none(name: str) -> Optional[str]:
    value = request.form.get(name, "").strip()
    return value or None


# -- log in and out ---------------------------------------------------------------------------------
@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    config = current_app.config["MOCK_ASPSP"]
    if config.admin_token is None:
        return redirect("/__admin/ui", 303)
    error, status = None, 200
    if request.method == "POST":
        token = request.form.get("token", "")
        if admin.token_accepted(token):
            response = redirect("/__admin/ui", 303)
            response.set_cookie(SESSION_COOKIE, _sessions().dumps({"token": token}), max_age=SESSION_MAX_AGE_S,
                                httponly=True, samesite="Strict", path="/__admin/ui", secure=request.is_secure)
            return response
        error, status = "That is not the admin token (MOCK_ASPSP_ADMIN_TOKEN).", 401
    body = render_template("console/login.html", pages=(), page=None, csrf=g.console_csrf, error=error,
                           logged_in=False)
    return Response(body, status, content_type="text/html; charset=utf-8")


@blueprint.post("/logout")
def logout() -> Response:
    response = redirect("/__admin/ui/login" if current_app.config["MOCK_ASPSP"].admin_token else "/__admin/ui", 303)
    response.delete_cookie(SESSION_COOKIE, path="/__admin/ui")
    return response


# -- overview and reset -----------------------------------------------------------------------------
@blueprint.get("")
def overview(done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> Response:
    return _page("overview.html", "overview", status, scenario=admin.scenario_in_force(),
                 journal=len(admin.journal_entries({})), tokens=len(admin.token_pairs()),
                 rules=len(admin.rules_in_force()), done=done, error=error)


@blueprint.post("/reset")
def reset() -> Response:
    answer, error, _, status = _act(admin.reset_sandbox)
    return overview(done="Back to the scenario's initial state." if answer else None, error=error, status=status)


# -- the request journal ----------------------------------------------------------------------------
@blueprint.get("/journal")
def journal(done: Optional[str] = None) -> Response:
    filters = {name: request.args.get(name, "").strip() for name in admin.JOURNAL_FILTERS}
    refresh = request.args.get("refresh") == "on"
    entries = list(reversed(admin.journal_entries(filters)))  # newest first
    toggled = {**{k: v for k, v in filters.items() if v}, **({} if refresh else {"refresh": "on"})}
    return _page("journal.html", "journal", entries=entries, filters=filters, refresh=refresh,
                 refresh_s=REFRESH_S, toggled=toggled, done=done,
                 banks=[b.code for b in snapshot().scenario.banks], tpps=snapshot().scenario.tpps)


@blueprint.post("/journal/clear")
def clear_journal() -> Response:
    admin.clear_journal()
    return journal(done="The journal is empty.")


# -- token pairs ------------------------------------------------------------------------------------
@blueprint.get("/tokens")
def tokens(done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> Response:
    return _page("tokens.html", "tokens", status, pairs=admin.token_pairs(), done=done, error=error,
                 reason_max=admin.REASON_MAX)


@blueprint.post("/tokens/revoke")
def revoke_tokens() -> Response:
    body = {name: _blank_none(name) for name in ("psu", "client_id", "bank", "reason")}
    body["by"] = request.form.get("by", "bank")
    answer, error, _, status = _act(lambda: admin.revoke_tokens(body))
    return tokens(done=f"{answer['revoked']} pair(s) revoked." if answer else None, error=error, status=status)


# -- the clock --------------------------------------------------------------------------------------
@blueprint.get("/clock")
def clock(done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> Response:
    return _page("clock.html", "clock", status, clock=admin.clock_state(), done=done, error=error)


@blueprint.post("/clock")
def move_clock() -> Response:
    action = request.form.get("action")
    body = {"advance": {"advance": request.form.get("advance", "")}, "set": {"set": request.form.get("set", "")},
            "reset": {"reset": True}}.get(action or "", {})
    answer, error, _, status = _act(lambda: admin.move_clock(body))
    return clock(done=f"Mock time is now {answer['now']}." if answer else None, error=error, status=status)


# -- fault rules ------------------------------------------------------------------------------------
def _number(value: str, kind: type) -> Any:
    """A number typed in a form, as the API's JSON would carry it; anything else stays text, for the
    schema to refuse with its own words."""
    try:
        return kind(value)
    except ValueError:
        return value


def rule_from_form(form) -> dict:
    """The form's fields as the body of ``POST /__admin/rules``: blank fields left out."""
    def given(name: str) -> Optional[str]:
        value = form.get(name, "").strip()
        return value or None

    match: dict[str, Any] = {}
    for name in ("endpoint", "version", "bank", "tpp", "iban", "amount"):
        if given(name):
            match[name] = given(name)
    for name, kind in (("nth", int), ("probability", float), ("seed", int)):
        if given(name):
            match[name] = _number(given(name), kind)
    action: dict[str, Any] = {}
    if given("status"):
        action["status"] = _number(given("status"), int)
    if given("message"):
        action["message"] = given("message")
    if given("retry_after"):
        action["retry_after"] = _number(given("retry_after"), int)
    if given("delay"):
        action["delay"] = given("delay")
    if form.get("drop"):
        action["drop"] = True
    rule: dict[str, Any] = {"action": action}
    if given("name"):
        rule["name"] = given("name")
    if match:
        rule["match"] = match
    if given("times"):
        rule["times"] = _number(given("times"), int)
    return rule


@blueprint.get("/rules")
def rules(done: Optional[str] = None, error: Optional[str] = None, problems: tuple = (), status: int = 200,
          form: Optional[dict] = None) -> Response:
    return _page("rules.html", "rules", status, rules=admin.rules_in_force(), done=done, error=error,
                 problems=problems, form=form or {}, endpoints=RULE_ENDPOINTS, statuses=RULE_STATUSES,
                 versions=PREFIXES)


@blueprint.post("/rules")
def add_rule() -> Response:
    answer, error, problems, status = _act(lambda: admin.add_rule(rule_from_form(request.form)))
    if answer is None:
        return rules(error=error, problems=problems, status=status, form=request.form.to_dict())
    return rules(done=f"Rule {answer.get('name', '(unnamed)')} added.", status=201)


@blueprint.post("/rules/remove")
def remove_rule() -> Response:
    answer, error, _, status = _act(lambda: admin.remove_rule(request.form.get("name", "")))
    return rules(done=f"Rule {answer['removed']} removed." if answer else None, error=error, status=status)


@blueprint.post("/rules/clear")
def clear_rules() -> Response:
    admin.clear_rules()
    return rules(done="The added rules are removed and every counter is zero.")


# -- the scenario -----------------------------------------------------------------------------------
@blueprint.get("/scenario")
def scenario(done: Optional[str] = None, error: Optional[str] = None, problems: tuple = (), status: int = 200,
             sent: str = "") -> Response:
    return _page("scenario.html", "scenario", status, scenario=admin.scenario_in_force(), done=done, error=error,
                 problems=problems, sent=sent)


@blueprint.post("/scenario")
def swap_scenario() -> Response:
    upload = request.files.get("file")
    data = upload.read() if upload and upload.filename else request.form.get("yaml", "").encode()
    if not data.strip():
        return scenario(error="Paste a scenario or choose a file to upload.", status=400)
    answer, error, problems, status = _act(lambda: admin.swap_scenario(data))
    if answer is None:
        return scenario(error=error, problems=problems, status=status, sent=data.decode("utf-8", "replace"))
    return scenario(done=f"Scenario {answer['name']} is in force on every worker.")


# -- TPPs and certificates --------------------------------------------------------------------------
@blueprint.get("/tpps")
def tpps(done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> Response:
    registered = [admin.tpp_as_registered(t.client_id) for t in snapshot().scenario.tpps]
    return _page("tpps.html", "tpps", status, tpps=registered, revoked=set(admin.revoked_certificates()),
                 done=done, error=error, statuses=admin.TPP_STATUSES, reason_max=admin.REASON_MAX)


@blueprint.post("/tpps/<client_id>")
def patch_tpp(client_id: str) -> Response:
    change = request.form.get("change")
    body = {"status": {"status": request.form.get("status", "")},
            "deny": {"denied": request.form.get("denied", "")}, "allow": {"denied": None}}.get(change or "", {})
    answer, error, _, status = _act(lambda: admin.patch_tpp(client_id, body))
    return tpps(done=f"{answer['name']}: status {answer['status']}, "
                     f"{'denied: ' + answer['denied'] if answer['denied'] else 'not denied'}." if answer else None,
                error=error, status=status)


@blueprint.post("/certificates/revoke")
def revoke_certificate() -> Response:
    answer, error, _, status = _act(lambda: admin.revoke_certificate({"sha256": request.form.get("sha256", "")}))
    return tpps(done=f"Certificate {answer['revoked']} revoked." if answer else None, error=error, status=status)


# -- go-live readiness ------------------------------------------------------------------------------
@blueprint.get("/conformance")
def conformance(done: Optional[str] = None, error: Optional[str] = None, problems: tuple = (), status: int = 200,
                form: Optional[dict] = None) -> Response:
    """Every TPP (the scenario's, then the registered clients) with its report's summary and its plan."""
    scenario = snapshot().scenario
    reports = [(t, "scenario" if scenario.tpp(t.client_id) else "registration API",
                admin_conformance.conformance_report(t.client_id)) for t in admin_conformance.conformance_tpps()]
    return _page("conformance.html", "conformance", status, reports=reports, modules=MODULES,
                 formats=admin_conformance.FORMATS, done=done, error=error, problems=problems, form=form or {})


@blueprint.get("/conformance/report")
def conformance_document() -> Response:
    """The admin API's report (``GET /__admin/conformance``), behind the console's own login."""
    try:
        return admin_conformance.report_document(request.args.get("client_id", ""), request.args.get("format", "html"))
    except ApiError as error:
        raise ConsoleRefusal(error.status, error.message) from None


@blueprint.post("/conformance/plans")
def start_conformance_plan() -> Response:
    body = {"client_id": request.form.get("client_id", ""), "modules": request.form.getlist("modules")}
    answer, error, problems, status = _act(lambda: admin_conformance.start_conformance_plan(body))
    if answer is None:
        return conformance(error=error, problems=problems, status=status,
                           form={"client_id": body["client_id"], "modules": body["modules"]})
    return conformance(done=f"Plan {answer['plan']} started for {answer['client_id']}: "
                            f"{', '.join(m['id'] for m in answer['modules'])}.", status=201)
