"""GET /authorize and the bank's pages: request checks, each outcome, time-outs, CSRF, escaping."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import ALICE_OTHER_IBAN, assert_error_page, callback_params, shipped_scenario

XSS = "<script>alert(1)</script>"


def authorize(client, host="localhost", **params):
    base = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
            "state": "state-123"}
    query = {k: v for k, v in {**base, **params}.items() if v is not None}
    return client.get("/authorize?" + urlencode(query), base_url=f"http://{host}")


def to_tpp(response) -> dict:
    """The redirect goes to the registered URI; returns its query."""
    params = callback_params(response)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return params


def journey_location(tpp, **extra) -> str:
    response = tpp.start(**extra)
    assert response.status_code == 303
    return response.headers["Location"]


def identified(tpp, login="alice", password="alice-password") -> str:
    location = journey_location(tpp)
    response = tpp.post_step(location, "identify", login=login, password=password, action="continue")
    assert response.status_code == 303 and response.headers["Location"] == location
    return location


def authenticated(tpp) -> str:
    location = identified(tpp)
    response = tpp.post_step(location, "authenticate", otp="123456", action="continue")
    assert response.status_code == 303 and response.headers["Location"] == location
    return location


# -- checks that end on a page, never a redirect -------------------------------------------
@pytest.mark.parametrize("client_id", [None, "", "PSDFR-ACPR-99999", "<img src=x onerror=alert(1)>"])
def test_missing_or_unknown_client_id_is_an_error_page(client, client_id):
    page = assert_error_page(authorize(client, client_id=client_id), 400)
    assert "<img" not in page


@pytest.mark.parametrize(
    "redirect_uri",
    [
        None,
        "",
        "https://evil.example/cb",
        "https://tpp.example.com/callback/../evil",
        "https://tpp.example.com/callback?x=1",
        "https://tpp.example.com/callback/",
        "http://tpp.example.com/callback",
        "https://TPP.example.com/callback",
    ],
)
def test_unregistered_or_missing_redirect_uri_is_an_error_page(client, redirect_uri):
    assert_error_page(authorize(client, redirect_uri=redirect_uri), 400)


def test_open_redirect_refused_even_when_everything_else_is_wrong(client):
    """A bad response_type or scope with an unregistered URI must not be sent to that URI."""
    response = authorize(client, redirect_uri="https://evil.example/cb", response_type="token", scope="admin")
    page = assert_error_page(response, 400)
    assert "evil.example/cb" in page  # says which URI was refused


def test_markup_in_redirect_uri_is_escaped_on_the_error_page(client):
    uri = 'https://evil.example/cb"><script>alert(1)</script>'
    page = assert_error_page(authorize(client, redirect_uri=uri), 400)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'cb"><' not in page and "cb&#34;&gt;" in page


def test_second_registered_uri_is_accepted(client):
    response = authorize(client, redirect_uri="http://localhost:8000/callback")
    assert response.status_code == 303 and response.headers["Location"].startswith("/sca/")


# -- checks sent back to the registered URI --------------------------------------------------
@pytest.mark.parametrize(
    "params,error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"scope": "aisp"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": "cbpii piisp"}, "invalid_scope"),
        ({"state": "x" * 501}, "invalid_request"),
    ],
)
def test_request_errors_redirect_with_error_and_state(client, params, error):
    query = to_tpp(authorize(client, **params))
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == params.get("state", "state-123")
    assert "code" not in query


def test_missing_state_redirects_with_invalid_request(client):
    query = to_tpp(authorize(client, state=None))
    assert query["error"] == "invalid_request" and "state" in query["error_description"]
    assert "state" not in query


@pytest.mark.parametrize("scope", ["piisp", "cbpii"])
def test_both_scopes_start_a_journey(client, scope):
    assert authorize(client, scope=scope).status_code == 303


@pytest.mark.parametrize("scenario_path", [shipped_scenario("revoked-tpp")])
def test_revoked_tpp_gets_unauthorized_client(client):
    query = to_tpp(authorize(client))
    assert query["error"] == "unauthorized_client" and query["state"] == "state-123"


@pytest.mark.parametrize("scenario_path", [shipped_scenario("revoked-tpp")])
def test_the_active_tpp_of_the_revoked_scenario_still_works(client):
    response = authorize(client, client_id="PSDFR-ACPR-67890", redirect_uri="https://other-tpp.example.com/callback",
                         login_hint="paul")
    assert "code" in callback_params(response)


def test_registered_uri_query_is_kept():
    """Covered through journey.redirect_to: the TPP's own query parameters stay (RFC 6749 §3.1.2)."""
    from mock_aspsp.oauth.journey import redirect_to

    assert redirect_to("https://t.example/cb?a=1", {"code": "c", "state": None}) == "https://t.example/cb?a=1&code=c"


# -- XSS in state ---------------------------------------------------------------------------
def test_state_with_markup_is_url_encoded_in_redirects(client, tpp):
    error_redirect = authorize(client, scope="bad", state=XSS)
    assert "<" not in error_redirect.headers["Location"] and "%3Cscript%3E" in error_redirect.headers["Location"]
    assert to_tpp(error_redirect)["state"] == XSS

    location = journey_location(tpp, state=XSS)
    assert XSS not in tpp.page(location)[0].get_data(as_text=True)
    tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
    assert XSS not in tpp.page(location)[0].get_data(as_text=True)
    tpp.post_step(location, "authenticate", otp="123456", action="continue")
    assert XSS not in tpp.page(location)[0].get_data(as_text=True)
    final = tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve")
    assert "<" not in final.headers["Location"]
    assert to_tpp(final)["state"] == XSS


def test_wrong_login_with_markup_is_not_echoed(tpp):
    location = journey_location(tpp)
    response = tpp.post_step(location, "identify", login=XSS, password=XSS, action="continue")
    assert response.status_code == 401
    assert XSS not in response.get_data(as_text=True)


# -- identification -------------------------------------------------------------------------
@pytest.mark.parametrize("login,password", [("alice", "wrong"), ("nobody", "alice-password"), ("", ""),
                                            ("erwan", "erwan-password")])  # erwan is a client of another bank
def test_wrong_credentials_reshow_the_page(tpp, login, password):
    location = journey_location(tpp)
    response = tpp.post_step(location, "identify", login=login, password=password, action="continue")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Identifiant ou mot de passe incorrect" in page and 'name="password"' in page
    # the right password then advances to the one-time code
    response = tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
    assert response.status_code == 303
    assert 'name="otp"' in tpp.page(location)[0].get_data(as_text=True)


def test_pages_are_plain_forms(tpp):
    location = journey_location(tpp)
    response, csrf = tpp.page(location)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert csrf and f'action="{location}"' in page and "<script" not in page


# -- strong authentication --------------------------------------------------------------------
def test_wrong_otp_is_retried_then_the_right_one_passes(tpp):
    location = identified(tpp)
    response = tpp.post_step(location, "authenticate", otp="000000", action="continue")
    assert response.status_code == 401
    assert "Code incorrect" in response.get_data(as_text=True) and "2 essai(s)" in response.get_data(as_text=True)
    response = tpp.post_step(location, "authenticate", otp="123456", action="continue")
    assert response.status_code == 303
    assert 'value="approve"' in tpp.page(location)[0].get_data(as_text=True)


def test_too_many_wrong_otps_end_the_journey(tpp):
    location = identified(tpp)
    for _ in range(2):
        assert tpp.post_step(location, "authenticate", otp="000000", action="continue").status_code == 401
    query = to_tpp(tpp.post_step(location, "authenticate", otp="000000", action="continue"))
    assert query["error"] == "access_denied" and query["state"] == "state-123" and "code" not in query
    assert tpp.page(location)[0].status_code == 410


# -- cancel, refuse, approve --------------------------------------------------------------
@pytest.mark.parametrize("reach", [journey_location, identified, authenticated])
def test_cancel_on_each_screen_is_access_denied(tpp, reach):
    location = reach(tpp)
    step = {journey_location: "identify", identified: "authenticate", authenticated: "consent"}[reach]
    query = to_tpp(tpp.post_step(location, step, action="cancel"))
    assert query["error"] == "access_denied" and query["state"] == "state-123"
    assert "cancel" in query["error_description"]


def test_consent_refusal_is_access_denied_with_state(tpp):
    location = authenticated(tpp)
    query = to_tpp(tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="refuse"))
    assert query == {"error": "access_denied", "error_description": "the PSU refused consent", "state": "state-123"}


@pytest.mark.parametrize("scenario_path", [shipped_scenario("consent-refused")])
def test_consent_refused_scenario(tpp):
    location = journey_location(tpp)
    tpp.post_step(location, "identify", login="fanny", password="fanny-password", action="continue")
    tpp.post_step(location, "authenticate", otp="123456", action="continue")
    assert to_tpp(tpp.post_step(location, "consent", action="refuse"))["error"] == "access_denied"
    query = callback_params(tpp.start(login_hint="gaston"))
    assert query["error"] == "access_denied" and query["state"] == "state-123"


def test_consent_offers_every_account_and_needs_one_of_them(tpp):
    location = authenticated(tpp)
    page = tpp.page(location)[0].get_data(as_text=True)
    assert PORTAL_IBAN in page and ALICE_OTHER_IBAN in page
    response = tpp.post_step(location, "consent", iban="FR7630007000020009876540145", action="approve")  # bruno's
    assert response.status_code == 400
    query = to_tpp(tpp.post_step(location, "consent", iban=ALICE_OTHER_IBAN, action="approve"))
    assert query["code"] and query["state"] == "state-123"


# -- time-outs per screen ------------------------------------------------------------------
SCREENS = [
    (journey_location, "identify", "identification"),
    (identified, "authenticate", "strong authentication"),
    (authenticated, "consent", "consent"),
]


@pytest.mark.parametrize("reach,step,screen", SCREENS)
def test_time_out_on_each_screen(tpp, advance, reach, step, screen):
    location = reach(tpp)
    advance(timedelta(minutes=5))
    assert tpp.page(location)[0].status_code == 200  # exactly at the limit: still shown
    _, csrf = tpp.page(location)
    advance(timedelta(seconds=1))
    fields = {"identify": {"login": "alice", "password": "alice-password"}, "authenticate": {"otp": "123456"},
              "consent": {"iban": PORTAL_IBAN}}[step]
    response = tpp.client.post(location, data={"csrf_token": csrf, "step": step, "action": "continue", **fields})
    query = to_tpp(response)
    assert query["error"] == "access_denied"  # default.yaml's timeout_error
    assert query["error_description"] == f"time-out on the {screen} screen"
    assert query["state"] == "state-123" and "code" not in query


@pytest.mark.parametrize("scenario_path", [shipped_scenario("sca-timeout")])
@pytest.mark.parametrize("step,minutes,screen", [("identify", 2, "identification"),
                                                  ("authenticate", 1, "strong authentication")])
def test_time_out_uses_the_scenarios_settings(tpp, advance, step, minutes, screen):
    location = journey_location(tpp)
    if step == "authenticate":
        tpp.post_step(location, "identify", login="helene", password="helene-password", action="continue")
    advance(timedelta(minutes=minutes, seconds=1))
    query = to_tpp(tpp.page(location)[0])  # reloading the screen is enough
    assert query["error"] == "temporarily_unavailable"
    assert query["error_description"] == f"time-out on the {screen} screen"


@pytest.mark.parametrize("scenario_path", [shipped_scenario("sca-timeout")])
def test_each_screen_gets_its_own_time(tpp, advance):
    """Time spent on identification does not count against the next screen."""
    location = journey_location(tpp)
    advance(timedelta(minutes=1, seconds=50))
    tpp.post_step(location, "identify", login="helene", password="helene-password", action="continue")
    advance(timedelta(seconds=50))
    assert tpp.post_step(location, "authenticate", otp="123456", action="continue").status_code == 303
    query = callback_params(tpp.post_step(location, "consent", iban="FR7630007000110000000020186", action="approve"))
    assert query["code"]


# -- CSRF, browser binding, replay ------------------------------------------------------------
def test_post_without_or_with_a_wrong_csrf_token_is_refused(tpp):
    location = journey_location(tpp)
    form = {"step": "identify", "login": "alice", "password": "alice-password", "action": "continue"}
    for extra in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
        assert_error_page(tpp.client.post(location, data={**form, **extra}), 400)
    _, csrf = tpp.page(location)
    assert_error_page(tpp.client.post(location, data={**form, "csrf_token": csrf, "step": "consent"}), 400)
    assert tpp.client.post(location, data={**form, "csrf_token": csrf}).status_code == 303


def test_post_from_another_browser_is_refused(tpp, other_browser):
    location = journey_location(tpp)
    _, csrf = tpp.page(location)
    form = {"csrf_token": csrf, "step": "identify", "login": "alice", "password": "alice-password",
            "action": "continue"}
    assert_error_page(other_browser.post(location, data=form), 403)
    assert_error_page(other_browser.get(location), 403)
    assert tpp.client.post(location, data=form).status_code == 303  # the right browser is unaffected


def test_unknown_journey_is_a_page(client):
    assert_error_page(client.get("/sca/no-such-journey"), 404)
    assert_error_page(client.post("/sca/no-such-journey", data={}), 404)


def test_finished_journey_cannot_be_replayed(tpp):
    location = authenticated(tpp)
    _, csrf = tpp.page(location)
    final = tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve")
    assert callback_params(final)["code"]
    replay = {"csrf_token": csrf, "step": "consent", "iban": PORTAL_IBAN, "action": "approve"}
    assert_error_page(tpp.client.post(location, data=replay), 410)
    assert_error_page(tpp.client.get(location), 410)


# -- headless PSUs -------------------------------------------------------------------------
def test_headless_approve_gets_a_code_at_once(tpp):
    query = to_tpp(tpp.start(login_hint="bruno"))
    assert query["code"] and query["state"] == "state-123"
    assert tpp.exchange(query["code"]).status_code == 200


def test_headless_refuse_is_access_denied(tpp):
    assert to_tpp(tpp.start(login_hint="chloe")) == {
        "error": "access_denied", "error_description": "the PSU refused consent", "state": "state-123"}


def test_headless_timeout_is_the_timeout_error(tpp):
    query = to_tpp(tpp.start(login_hint="denis"))
    assert query["error"] == "access_denied" and "time-out" in query["error_description"]
    assert query["state"] == "state-123"


@pytest.mark.parametrize("scenario_path", [shipped_scenario("sca-timeout")])
def test_headless_timeout_follows_the_scenario(tpp):
    assert to_tpp(tpp.start(login_hint="igor"))["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("hint", ["alice", "nobody", ""])
def test_interactive_or_unknown_hint_shows_the_pages(tpp, hint):
    assert tpp.start(login_hint=hint).headers["Location"].startswith("/sca/")


def test_headless_psu_identified_through_the_form_gets_the_automatic_outcome(tpp):
    location = journey_location(tpp)
    query = to_tpp(tpp.post_step(location, "identify", login="bruno", password="bruno-password", action="continue"))
    assert query["code"] and query["state"] == "state-123"
    tokens = tpp.exchange(query["code"]).get_json()
    response = tpp.confirm(tokens["access_token"], {
        "paymentCoverageRequestId": "r1", "instructedAmount": {"currency": "EUR", "amount": "3500"},
        "accountId": {"iban": "FR7630007000020009876540145"}})
    assert response.status_code == 200 and response.get_json()["result"] is True


def test_headless_refusing_psu_through_the_form(tpp):
    location = journey_location(tpp)
    query = to_tpp(tpp.post_step(location, "identify", login="chloe", password="chloe-password", action="continue"))
    assert query["error"] == "access_denied"


def test_error_pages_carry_the_bank_of_the_host(client):
    page = client.get("/authorize?client_id=PSDFR-ACPR-12345&redirect_uri=https://evil.example/cb",
                      base_url="http://13807.localhost")
    assert page.status_code == 400
    assert "Caisse Exemple Grand Ouest" in page.get_data(as_text=True)
