"""``GET /authorize`` and the bank's own pages (STET Part I §3.4.3.2).

The request is checked in RFC 6749 §4.1.2.1 order: an unknown client or an
unregistered ``redirect_uri`` gets an error *page* (never a redirect, so the
bank is no open redirector); every later problem is sent back to the TPP's
registered URI with ``error`` and ``state``. The pages are plain HTML forms,
usable without JavaScript and postable by a script; each form carries a CSRF
token and only works in the browser that started the journey (cookie).

The PSU signing in to its access dashboard (``begin_sign_in``) goes through
the same identification and one-time-code screens, with the same lock-out; its
journey ends in a session (``signin``) instead of the consent screen, and an
interrupted one on the bank's page rather than at a TPP.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import Blueprint, Response, g, redirect, render_template, request

from ..bank.clock import isoformat
from ..bank.scenario import Psu, Scenario, Tpp
from ..conformance.modules import APPROVAL, AUTHORIZE
from ..formats.quoting import quoted
from ..http.conformance import misbehave
from ..http import page_problems as pages
from ..http.errors import PageError, PageProblem
from ..http.responses import page_error
from ..http.web import sandbox, served_bank, snapshot
from ..stet.versions import SCOPES
from ..store.records import PsuAttempt, locked_until, token_hash
from ..tpp.registry import Admission, admission, effective_tpp
from .journey import (
    DASHBOARD,
    SCREENS_OF,
    Journey,
    error_params,
    redirect_to,
    same_secret,
    screen_timeout,
    timed_out,
    timeout_params,
)
from .pkce import PLAIN, challenge_problem
from .signin import DASHBOARD_PATH, open_session
from .tokens import Consent, issue_code, new_secret

blueprint = Blueprint("authorize", __name__)

BROWSER_COOKIE = "mock_aspsp_sca"
STATE_MAX = 500


@blueprint.after_request
def not_framed(response: Response) -> Response:
    """The bank's own screens (the access dashboard's too) only: a TPP may not embed them (portal, PSD2
    art. 97.5 / RTS art. 31), and a framed consent page is a clickjacking target. Nor are they cached
    (one-time forms)."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


def _repeated(names) -> Optional[str]:
    """The first of ``names`` sent more than once (RFC 6749 §3.1: parameters must not be repeated)."""
    args = request.args
    return next((name for name in names if len(args.getlist(name)) > 1), None)


def _registered_client(scenario: Scenario) -> tuple[Tpp, str]:
    """The checks that must end on a page, not a redirect."""
    repeated = _repeated(("client_id", "redirect_uri"))
    if repeated:  # which one is the TPP's is unknown: the bank sends nobody anywhere
        raise PageError(pages.INVALID_REQUEST, f"The TPP's request repeats the {repeated} parameter (RFC 6749 §3.1): "
                                               "the bank cannot tell which one is the TPP's.")
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    if not client_id:
        raise PageError(pages.INVALID_REQUEST, "The TPP's request has no client_id.")
    tpp = effective_tpp(scenario, sandbox().store, client_id)  # the scenario's, or a registered client
    if tpp is None:
        raise PageError(pages.UNKNOWN_TPP, f"No TPP is registered with client_id {quoted(client_id)}.")
    if not redirect_uri:
        raise PageError(pages.INVALID_REQUEST, "The TPP's request has no redirect_uri.")
    if redirect_uri not in tpp.redirect_uris:
        raise PageError(
            pages.UNKNOWN_REDIRECT,
            f"The redirect_uri {quoted(redirect_uri)} is not one registered by {tpp.name}; "
            "the bank will not send you there.",
        )
    return tpp, redirect_uri


def _request_problem(admitted: Admission) -> Optional[tuple[str, str]]:
    """(error, description) for a request the TPP got wrong, sent back to its redirect URI."""
    args = request.args
    repeated = _repeated(args)
    if repeated:
        return "invalid_request", f"the {quoted(repeated, 64)} parameter is repeated (RFC 6749 §3.1)"
    if args.get("response_type") != "code":
        return "unsupported_response_type", "response_type must be 'code'"
    if not args.get("state"):
        return "invalid_request", "the 'state' parameter is required"
    if len(args["state"]) > STATE_MAX:
        return "invalid_request", f"'state' is longer than {STATE_MAX} characters"
    scope = args.get("scope", "")
    if scope not in SCOPES:
        return "invalid_scope", f"scope must be one of {', '.join(sorted(SCOPES))}"
    refusal = admitted.refusal or admitted.missing_role  # by the scenario or the admin API
    if refusal:
        return "unauthorized_client", refusal
    settings = snapshot().scenario.settings
    pkce = challenge_problem(args.get("code_challenge"), args.get("code_challenge_method"),
                             settings.pkce_methods, settings.require_pkce)
    if pkce:
        return "invalid_request", pkce
    return None


@blueprint.get("/authorize")
@blueprint.get("/stet/psd2/oauth/authorize")  # the path the bank's portal gives it
def authorize() -> Response:
    now, scenario = snapshot().now, snapshot().scenario
    bank = served_bank(scenario)
    tpp, redirect_uri = _registered_client(scenario)
    problem = _request_problem(admission(scenario, sandbox().store, tpp.client_id, "authorize"))
    state = request.args.get("state")
    if problem:
        return redirect(redirect_to(redirect_uri, {"error": problem[0], "error_description": problem[1], "state": state}))
    if misbehave(tpp.client_id, AUTHORIZE):  # conformance module callback-with-error
        return redirect(redirect_to(redirect_uri, {"error": "access_denied", "error_description": "the PSU refused consent",
                                                   "state": state}))
    challenge = request.args.get("code_challenge")
    journey, browser = _new_journey(
        bank,
        now,
        client_id=tpp.client_id,
        redirect_uri=redirect_uri,
        scope=request.args["scope"],
        state=state,
        code_challenge=challenge,
        code_challenge_method=(request.args.get("code_challenge_method") or PLAIN) if challenge else None,
    )
    hinted = scenario.psu(bank, request.args.get("login_hint", ""))
    if hinted is not None and hinted.sca != "interactive":
        return _automatic_outcome(scenario, journey, hinted)
    return _first_screen(journey, browser)


def begin_sign_in(bank: str) -> Response:
    """The PSU signs in to its access dashboard: the identification screen of a journey without a TPP."""
    journey, browser = _new_journey(bank, snapshot().now, purpose=DASHBOARD, client_id="", redirect_uri="",
                                    scope="", state="")
    return _first_screen(journey, browser)


def _new_journey(bank: str, now: datetime, **fields) -> tuple[Journey, str]:
    """A journey at its identification screen, and the secret of the cookie that binds it to this browser."""
    browser = new_secret()
    journey = Journey(id=new_secret(), bank=bank, csrf=new_secret(), browser=token_hash(browser), step="identify",
                      step_started_at=now.timestamp(), **fields)
    return journey, browser


def _first_screen(journey: Journey, browser: str) -> Response:
    sandbox().store.put_journey(journey.id, journey.to_dict())
    response = redirect(f"/sca/{journey.id}", code=303)
    response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="Lax", path=f"/sca/{journey.id}")
    return response


def _journey(journey_id: str) -> Journey:
    data = sandbox().store.get_journey(journey_id)
    if data is None:
        raise PageError(pages.UNKNOWN_SESSION, "This authentication session does not exist or has ended.")
    journey = Journey(**data)
    g.journey_read = data
    if journey.step == "done":
        # Checked before the browser: finishing deletes the cookie, so a replay
        # (back button, resubmitted form) must still be told the session is over.
        raise PageError(pages.SESSION_OVER, "This authentication session is over.")
    if not same_secret(token_hash(request.cookies.get(BROWSER_COOKIE, "")), journey.browser):
        raise PageError(pages.OTHER_BROWSER, "This authentication session was started in another browser "
                                             "(its cookie is missing or not this session's).")
    return journey


def _save(journey_id: str, data: dict) -> None:
    """Store the journey's next state. One read by this request moves on only if no other request moved
    it first (a double submit, parallel guesses of the one-time code): never a read, then a blind write."""
    read = g.get("journey_read")
    if read is None:  # a headless outcome straight from /authorize: nothing stored yet
        sandbox().store.put_journey(journey_id, data)
    elif sandbox().store.update_journey(journey_id, read, data):
        g.journey_read = data
    else:
        raise PageError(pages.SENT_TWICE, "This form was submitted twice: the journey had already moved on.")


def _finish(journey: Journey, params: dict) -> Response:
    """End the journey (it cannot be replayed) and send the PSU back to the TPP."""
    return _ended(journey, redirect(redirect_to(journey.redirect_uri, params)))


def _interrupted(journey: Journey, params: dict, problem: PageProblem) -> Response:
    """The PSU did not get through (cancelled, timed out, too many wrong codes): a TPP's journey sends it
    back with the error; a sign-in to the dashboard ends on the bank's page saying why (``problem``)."""
    if journey.purpose == DASHBOARD:
        return _ended(journey, page_error(PageError(problem, params["error_description"])))
    return _finish(journey, params)


def _ended(journey: Journey, response: Response) -> Response:
    """End the journey (it cannot be replayed) with this last answer."""
    _save(journey.id, {**journey.to_dict(), "step": "done"})
    response.delete_cookie(BROWSER_COOKIE, path=f"/sca/{journey.id}")
    return response


# -- lock-out: consecutive failures of a login, across journeys (store.count_attempt) ------------------
LOCKED_DESCRIPTION = "the PSU is temporarily locked after too many failed authentication attempts"


def _attempt(scenario: Scenario, bank: str, login: str) -> PsuAttempt:
    """Count this password or one-time code attempt before it is checked."""
    lockout = scenario.settings.sca.psu_lockout
    return sandbox().store.psu_attempt(bank, login, snapshot().now, lockout.attempts, lockout.duration)


def _locked(scenario: Scenario, journey: Journey, login: str, until: datetime) -> Response:
    """The bank's page saying the login is locked, the same whether the login exists or not; its link
    back tells the TPP ``access_denied``. The journey ends, and the journal says why."""
    lockout = scenario.settings.sca.psu_lockout
    g.error_message = (f"PSU {quoted(login, 64)} at bank {journey.bank} locked until {isoformat(until)}: "
                       f"{lockout.attempts} failed attempts (passwords and one-time codes)")
    dashboard = journey.purpose == DASHBOARD  # a sign-in to the dashboard: back to its first page
    back = DASHBOARD_PATH if dashboard else redirect_to(journey.redirect_uri,
                                                        error_params(journey, "access_denied", LOCKED_DESCRIPTION))
    body = render_template("sca_locked.html", bank=scenario.bank(journey.bank),
                           tpp=None if dashboard else effective_tpp(scenario, sandbox().store, journey.client_id),
                           minutes=max(1, int(lockout.duration.total_seconds() // 60)),
                           until=until.strftime("%H:%M"), back=back)
    return _ended(journey, Response(body, 403, content_type="text/html; charset=utf-8"))


def _failed(scenario: Scenario, journey: Journey, login: str, attempt: PsuAttempt, message: str):
    """A wrong password or code: the page says so, or, if it was the last one allowed, that the login is locked."""
    lockout = scenario.settings.sca.psu_lockout
    if attempt.failures >= lockout.attempts:
        return _locked(scenario, journey, login, snapshot().now + lockout.duration)
    return _page(scenario, journey, message, 401)


def _approve(scenario: Scenario, journey: Journey, iban: str, authenticated_at) -> dict:
    consent = Consent(
        bank=journey.bank,
        psu=journey.psu or "",
        client_id=journey.client_id,
        redirect_uri=journey.redirect_uri,
        scope=journey.scope,
        iban=iban,
        authenticated_at=authenticated_at,
        code_challenge=journey.code_challenge,
        code_challenge_method=journey.code_challenge_method,
    )
    state = journey.state
    if misbehave(journey.client_id, APPROVAL):  # conformance module callback-with-wrong-state
        state = new_secret()[:len(state or "")] or new_secret()
    return {"code": issue_code(sandbox().store, scenario, snapshot().now, consent), "state": state}


def _automatic_outcome(scenario: Scenario, journey: Journey, psu: Psu) -> Response:
    """Headless PSUs (sca: approve | refuse | timeout) answer without any page (a locked one: access_denied)."""
    journey = journey.at_step("consent", snapshot().now, psu=psu.login)
    until = locked_until(*sandbox().store.psu_failures(journey.bank, psu.login, snapshot().now),
                         scenario.settings.sca.psu_lockout.attempts)
    if until is not None:
        g.error_message = f"PSU {psu.login!r} at bank {journey.bank} is locked until {isoformat(until)}"
        params = error_params(journey, "access_denied", LOCKED_DESCRIPTION)
    elif psu.sca == "approve":
        sandbox().store.clear_psu_failures(journey.bank, psu.login)  # a complete strong authentication
        params = _approve(scenario, journey, psu.consent_iban, snapshot().now)
    elif psu.sca == "refuse":
        params = error_params(journey, "access_denied", "the PSU refused consent")
    else:
        params = error_params(journey, scenario.settings.sca.timeout_error, "time-out on the strong authentication screen")
    return _finish(journey, params)


def _page(scenario: Scenario, journey: Journey, error: Optional[str] = None, status: int = 200) -> tuple[str, int]:
    tpp = effective_tpp(scenario, sandbox().store, journey.client_id)
    psu = scenario.psu(journey.bank, journey.psu) if journey.psu else None
    timeout = screen_timeout(scenario.settings.sca, journey.step)
    return (
        render_template(
            f"sca_{journey.step}.html",
            journey=journey,
            bank=scenario.bank(journey.bank),
            tpp=tpp,
            psu=psu,
            error=error,
            minutes=max(1, int(timeout.total_seconds() // 60)),
            attempts_left=scenario.settings.sca.otp_attempts - journey.attempts,
            screens=SCREENS_OF[journey.purpose],
        ),
        status,
    )


@blueprint.get("/sca/<journey_id>")
def show(journey_id: str):
    scenario, now = snapshot().scenario, snapshot().now
    journey = _journey(journey_id)
    if journey.step == "done":
        raise PageError(pages.SESSION_OVER, "This authentication session is over.")
    if timed_out(journey, scenario.settings.sca, now):
        return _interrupted(journey, timeout_params(journey, scenario.settings.sca), pages.SIGN_IN_TIMED_OUT)
    return _page(scenario, journey)


@blueprint.post("/sca/<journey_id>")
def submit(journey_id: str):
    scenario, now = snapshot().scenario, snapshot().now
    journey = _journey(journey_id)
    form = request.form
    if journey.step == "done":
        raise PageError(pages.SESSION_OVER, "This authentication session is over.")
    if not same_secret(form.get("csrf_token"), journey.csrf) or form.get("step") != journey.step:
        raise PageError(pages.STALE_FORM, "This form is not the current one: wrong csrf_token or step.")
    if timed_out(journey, scenario.settings.sca, now):
        return _interrupted(journey, timeout_params(journey, scenario.settings.sca), pages.SIGN_IN_TIMED_OUT)
    if form.get("action") == "cancel":
        return _interrupted(journey, error_params(journey, "access_denied", "the PSU cancelled the authentication"),
                            pages.SIGN_IN_CANCELLED)
    return {"identify": _identify, "authenticate": _authenticate, "consent": _consent}[journey.step](
        scenario, journey
    )


def _identify(scenario: Scenario, journey: Journey):
    login, password = request.form.get("login", ""), request.form.get("password", "")
    psu = scenario.psu(journey.bank, login)
    attempt = _attempt(scenario, journey.bank, login)  # counted for any login: a guesser learns nothing
    if attempt.locked_until:
        return _locked(scenario, journey, login, attempt.locked_until)
    if psu is None or not same_secret(password, psu.password):
        return _failed(scenario, journey, login, attempt, "Identifiant ou mot de passe incorrect.")
    sandbox().store.psu_attempt_passed(journey.bank, login)  # not a failure; earlier ones still count
    journey = journey.at_step("authenticate", snapshot().now, psu=psu.login)
    if psu.sca != "interactive" and journey.purpose != DASHBOARD:  # the dashboard: every PSU signs in alike
        return _automatic_outcome(scenario, journey, psu)
    _save(journey.id, journey.to_dict())
    return redirect(f"/sca/{journey.id}", code=303)


def _authenticate(scenario: Scenario, journey: Journey):
    psu = scenario.psu(journey.bank, journey.psu or "")
    if psu is None:
        raise PageError(pages.UNKNOWN_CUSTOMER, "This PSU no longer exists in the bank's scenario.")
    attempt = _attempt(scenario, journey.bank, psu.login)
    if attempt.locked_until:
        return _locked(scenario, journey, psu.login, attempt.locked_until)
    if not same_secret(request.form.get("otp", ""), psu.otp):
        journey = journey.at_step(journey.step, snapshot().now, attempts=journey.attempts + 1)
        if attempt.failures < scenario.settings.sca.psu_lockout.attempts:
            if journey.attempts >= scenario.settings.sca.otp_attempts:
                return _interrupted(journey, error_params(journey, "access_denied",
                                                          "strong authentication failed: too many wrong codes"),
                                    pages.SIGN_IN_FAILED)
            _save(journey.id, journey.to_dict())
        return _failed(scenario, journey, psu.login, attempt, "Code incorrect.")
    sandbox().store.clear_psu_failures(journey.bank, psu.login)  # a complete strong authentication
    if journey.purpose == DASHBOARD:
        return _ended(journey, open_session(journey.bank, psu.login))
    journey = journey.at_step("consent", snapshot().now, authenticated_at=snapshot().now.timestamp())
    _save(journey.id, journey.to_dict())
    return redirect(f"/sca/{journey.id}", code=303)


def _consent(scenario: Scenario, journey: Journey):
    if request.form.get("action") == "refuse":
        return _finish(journey, error_params(journey, "access_denied", "the PSU refused consent"))
    psu = scenario.psu(journey.bank, journey.psu or "")
    iban = request.form.get("iban", "")
    if psu is None or iban not in {a.iban for a in psu.accounts}:
        return _page(scenario, journey, "Choisissez le compte à consulter.", 400)
    return _finish(journey, _approve(scenario, journey, iban, journey.authenticated()))
