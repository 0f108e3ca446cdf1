"""The QA console (``/__admin/ui``) through the Flask test client: each page, each action, and its guards.

Every action is the admin API's own function, so the console's answers are checked against the
API's: the same refusals, the same state changed for the TPP's next call.
"""
from __future__ import annotations

import html
import re
from io import BytesIO

import pytest
import yaml

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.http import admin, admin_conformance
from mock_aspsp.http.console import rule_from_form
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import TPP_CLIENT_ID
from support import START

PAGES = ["/__admin/ui", "/__admin/ui/journal", "/__admin/ui/tokens", "/__admin/ui/clock", "/__admin/ui/rules",
         "/__admin/ui/scenario", "/__admin/ui/tpps", "/__admin/ui/conformance"]
TOKEN = "qa-secret-token"


def csrf(client, page="/__admin/ui") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf(client), **form})


def shown(response) -> str:
    """The page's text as QA reads it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def problems(response) -> list[str]:
    return [html.unescape(p) for p in re.findall(r'<li class="mono">([^<]*)</li>', response.get_data(as_text=True))]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_english_html_with_the_navigation(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert '<html lang="en">' in text and "QA console" in text
    assert all(f'href="{page}"' in text for page in PAGES)
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"


def test_an_unknown_console_path_is_the_consoles_own_404_page(client):
    response = client.get("/__admin/ui/nowhere")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Refused (404)" in shown(response) and "/__admin/ui/nowhere" in shown(response)


# -- CSRF ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,form", [
    ("/__admin/ui/clock", {"action": "advance", "advance": "PT1H"}),
    ("/__admin/ui/rules", {"status": "429"}),
    ("/__admin/ui/reset", {}),
    ("/__admin/ui/tokens/revoke", {"psu": "alice"}),
])
@pytest.mark.parametrize("given", [None, "forged-token"])
def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, path, form, given):
    csrf(client)  # the browser holds the cookie; the form lacks (or forges) the token
    before = (client.get("/__admin/clock").get_json(), client.get("/__admin/rules").get_json())
    response = client.post(path, data={**form, **({"csrf_token": given} if given else {})})
    assert response.status_code == 403 and "CSRF token" in shown(response)
    assert (client.get("/__admin/clock").get_json(), client.get("/__admin/rules").get_json()) == before


def test_a_form_sent_without_the_csrf_cookie_is_refused(app, client):
    token = csrf(client)
    other = app.test_client()  # another browser: the token, but not the cookie it matches
    assert other.post("/__admin/ui/reset", data={"csrf_token": token}).status_code == 403


# -- the admin API's guards ----------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Host": "evil.example"}, {"Host": "rebound.example:8080"}])
def test_without_a_token_foreign_and_cross_site_requests_are_refused(client, headers):
    token = csrf(client)
    for response in (client.get("/__admin/ui/scenario", headers=headers),
                     client.post("/__admin/ui/clock", data={"csrf_token": token, "action": "reset"}, headers=headers)):
        assert response.status_code == 403 and response.mimetype == "text/html"
        assert "alice-password" not in response.get_data(as_text=True)
        assert "cross-site" in shown(response) or "refused without an admin token" in shown(response)


@pytest.fixture
def guarded(tmp_path):
    config = Config(scenario=default_scenario(), db=tmp_path / "state.sqlite3", admin_token=TOKEN)
    return create_app(config, Clock(real=lambda: START)).test_client()


def test_without_a_token_the_login_page_is_not_needed(client):
    assert client.get("/__admin/ui/login").headers["Location"] == "/__admin/ui"


def test_with_a_token_every_page_asks_to_log_in_first(guarded):
    for path in PAGES:
        response = guarded.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/__admin/ui/login", path
    login = guarded.get("/__admin/ui/login")
    assert login.status_code == 200 and 'type="password"' in login.get_data(as_text=True)
    token = csrf(guarded, "/__admin/ui/login")
    assert guarded.post("/__admin/ui/clock", data={"csrf_token": token, "action": "reset"}).status_code == 401


def test_logging_in_with_the_wrong_token_is_refused(guarded):
    response = guarded.post("/__admin/ui/login", data={"csrf_token": csrf(guarded, "/__admin/ui/login"),
                                                       "token": "guess"})
    assert response.status_code == 401 and "not the admin token" in shown(response)
    assert guarded.get("/__admin/ui/clock").status_code == 303


def test_logging_in_with_the_token_opens_the_console_until_logging_out(guarded):
    token = csrf(guarded, "/__admin/ui/login")
    response = guarded.post("/__admin/ui/login", data={"csrf_token": token, "token": TOKEN})
    assert response.status_code == 303 and response.headers["Location"] == "/__admin/ui"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__admin/ui" in cookie
    for path in PAGES:
        assert guarded.get(path).status_code == 200, path
    moved = guarded.post("/__admin/ui/clock", data={"csrf_token": token, "action": "advance", "advance": "PT1H"})
    assert moved.status_code == 200
    assert guarded.get("/__admin/clock").status_code == 401  # the API still wants its bearer token
    assert guarded.post("/__admin/ui/logout", data={"csrf_token": token}).headers["Location"] == "/__admin/ui/login"
    assert guarded.get("/__admin/ui/clock").status_code == 303


def test_a_forged_or_stale_session_cookie_is_refused(tmp_path, guarded):
    guarded.set_cookie("mock_aspsp_console", "eyJ0b2tlbiI6InFhYSJ9.forged.sig", path="/__admin/ui")
    assert guarded.get("/__admin/ui/clock").status_code == 303
    # Signed with another token: a server whose token changed no longer accepts the old sessions.
    other = Config(scenario=default_scenario(), db=tmp_path / "other.sqlite3", admin_token="another-token")
    other_client = create_app(other, Clock(real=lambda: START)).test_client()
    token = csrf(other_client, "/__admin/ui/login")
    other_client.post("/__admin/ui/login", data={"csrf_token": token, "token": "another-token"})
    session = other_client.get_cookie("mock_aspsp_console", path="/__admin/ui").value
    guarded.set_cookie("mock_aspsp_console", session, path="/__admin/ui")
    assert guarded.get("/__admin/ui/clock").status_code == 303


def test_with_a_token_the_consoles_conformance_report_asks_to_log_in_first(guarded):
    report = f"/__admin/ui/conformance/report?client_id={TPP_CLIENT_ID}&format=json"
    assert guarded.get(report).headers["Location"] == "/__admin/ui/login"
    token = csrf(guarded, "/__admin/ui/login")
    plan = {"csrf_token": token, "client_id": TPP_CLIENT_ID, "modules": "rate-limited"}
    assert guarded.post("/__admin/ui/conformance/plans", data=plan).status_code == 401
    guarded.post("/__admin/ui/login", data={"csrf_token": token, "token": TOKEN})
    assert guarded.get(report).get_json()["client_id"] == TPP_CLIENT_ID
    assert guarded.post("/__admin/ui/conformance/plans", data=plan).status_code == 201


# -- the clock -----------------------------------------------------------------------------------------
def test_advancing_the_clock_from_the_console_expires_the_tpps_token(client, tpp):
    access = tpp.tokens()["access_token"]
    assert tpp.confirm(access).status_code == 200
    response = post(client, "/__admin/ui/clock", action="advance", advance="PT1H1S")
    assert response.status_code == 200 and "Mock time is now" in shown(response)
    assert client.get("/__admin/clock").get_json()["offset"] == "PT1H1S"
    refused = tpp.confirm(access)
    assert refused.status_code == 401 and "expired" in refused.get_json()["message"]


def test_the_clock_is_set_and_reset_and_a_bad_duration_is_shown(client):
    assert post(client, "/__admin/ui/clock", action="set", set="2030-01-01T00:00:00Z").status_code == 200
    assert client.get("/__admin/clock").get_json()["now"] == "2030-01-01T00:00:00Z"
    bad = post(client, "/__admin/ui/clock", action="advance", advance="P1Y")
    api = client.post("/__admin/clock", json={"advance": "P1Y"})
    assert bad.status_code == api.status_code == 400 and api.get_json()["message"] in shown(bad)
    assert post(client, "/__admin/ui/clock", action="reset").status_code == 200
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


# -- fault rules ---------------------------------------------------------------------------------------
def test_a_429_rule_added_from_the_form_answers_the_next_call_and_is_removed(client, tpp):
    access = tpp.tokens()["access_token"]
    added = post(client, "/__admin/ui/rules", name="throttle", endpoint="funds-confirmations", status="429",
                 retry_after="30", times="1")
    assert added.status_code == 201 and "Rule throttle added" in shown(added)
    assert client.get("/__admin/rules").get_json()["rules"][0]["name"] == "throttle"
    throttled = tpp.confirm(access)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "30"
    listed = client.get("/__admin/ui/rules")
    assert re.search(r"throttle</td><td[^>]*>admin</td>\s*<td[^>]*>1</td><td[^>]*>1</td>", listed.get_data(as_text=True))
    removed = post(client, "/__admin/ui/rules/remove", name="throttle")
    assert removed.status_code == 200 and client.get("/__admin/rules").get_json()["rules"] == []


def test_a_bad_rule_is_shown_with_the_apis_problems_and_the_form_kept(client):
    form = {"name": "bad name!", "nth": "third", "status": "", "delay": "PT40S", "iban": "<b>x</b>"}
    response = post(client, "/__admin/ui/rules", **form)
    api = client.post("/__admin/rules", json=rule_from_form(form))
    assert response.status_code == api.status_code == 422
    assert problems(response) == api.get_json()["problems"] and len(problems(response)) >= 3
    page = response.get_data(as_text=True)
    assert 'value="third"' in page and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert client.get("/__admin/rules").get_json()["rules"] == []


def test_every_added_rule_is_cleared_from_the_console(client):
    post(client, "/__admin/ui/rules", name="a", status="503")
    post(client, "/__admin/ui/rules", name="b", status="500")
    assert post(client, "/__admin/ui/rules/clear").status_code == 200
    assert client.get("/__admin/rules").get_json()["rules"] == []


# -- the scenario --------------------------------------------------------------------------------------
BAD_SCENARIO = "name: broken\nbanks: []\npsus:\n  - login: x\n"


def test_a_bad_scenario_pasted_shows_every_problem_and_the_old_one_stays(client):
    before = client.get("/__admin/scenario").get_json()
    response = post(client, "/__admin/ui/scenario", yaml=BAD_SCENARIO)
    api = client.put("/__admin/scenario", data=BAD_SCENARIO, content_type="application/yaml")
    assert response.status_code == api.status_code == 422
    assert problems(response) == api.get_json()["problems"] and problems(response)
    assert "the current one stays in force" in shown(response)
    assert "name: broken" in response.get_data(as_text=True)  # what was pasted, to correct it
    assert client.get("/__admin/scenario").get_json() == before


def test_a_scenario_is_swapped_by_paste_or_upload(client):
    document = yaml.safe_load(default_scenario().read_text())
    document["name"] = "pasted <em>world</em>"
    pasted = post(client, "/__admin/ui/scenario", yaml=yaml.safe_dump(document))
    assert pasted.status_code == 200 and "pasted <em>world</em>" not in pasted.get_data(as_text=True)
    assert client.get("/__admin/scenario").get_json()["name"] == "pasted <em>world</em>"
    document["name"] = "uploaded"
    uploaded = client.post("/__admin/ui/scenario", data={
        "csrf_token": csrf(client), "yaml": "", "file": (BytesIO(yaml.safe_dump(document).encode()), "world.yaml")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 200 and "Scenario uploaded is in force" in shown(uploaded)
    assert client.get("/__admin/scenario").get_json()["name"] == "uploaded"
    assert post(client, "/__admin/ui/scenario", yaml="  ").status_code == 400


# -- token pairs, TPPs, certificates -------------------------------------------------------------------
def test_token_pairs_are_listed_and_revoked_from_the_console(client, tpp):
    access = tpp.tokens()["access_token"]
    page = client.get("/__admin/ui/tokens")
    assert "alice" in shown(page) and "active" in shown(page)
    revoked = post(client, "/__admin/ui/tokens/revoke", psu="alice", client_id=TPP_CLIENT_ID, bank="")
    assert revoked.status_code == 200 and "1 pair(s) revoked" in shown(revoked)
    refused = tpp.confirm(access)
    assert refused.status_code == 401 and "revoked by the bank" in refused.get_json()["message"]
    nothing = post(client, "/__admin/ui/tokens/revoke")
    assert nothing.status_code == 400 and "name at least one of psu, client_id, bank" in shown(nothing)


def test_a_tpp_is_denied_and_its_certificate_revoked_from_the_console(client, tpp):
    access = tpp.tokens()["access_token"]
    denied = post(client, f"/__admin/ui/tpps/{TPP_CLIENT_ID}", change="deny", denied="fraud suspected")
    assert denied.status_code == 200 and "denied: fraud suspected" in shown(denied)
    refused = tpp.confirm(access)
    assert refused.status_code == 403 and "fraud suspected" in refused.get_json()["message"]
    assert post(client, f"/__admin/ui/tpps/{TPP_CLIENT_ID}", change="allow").status_code == 200
    assert tpp.confirm(access).status_code == 200
    unknown = post(client, "/__admin/ui/tpps/PSDFR-ACPR-99999", change="status", status="revoked")
    assert unknown.status_code == 404 and "no TPP with client_id" in shown(unknown)
    sha = "ab" * 32
    assert post(client, "/__admin/ui/certificates/revoke", sha256=sha).status_code == 200
    assert sha in client.get("/__admin/ui/tpps").get_data(as_text=True)
    bad = post(client, "/__admin/ui/certificates/revoke", sha256="xyz")
    assert bad.status_code == 400 and "64 hex digits" in shown(bad)


# -- the journal ---------------------------------------------------------------------------------------
def test_the_journal_filters_and_shows_each_exchange_with_its_secrets_masked(client, tpp):
    access = tpp.tokens()["access_token"]
    tpp.confirm(access, request_id="seen-<script>")
    tpp.confirm(access, body={"nope": 1}, request_id="bad-body")
    page = client.get("/__admin/ui/journal?path=funds-confirmations&status=400")
    text = page.get_data(as_text=True)
    assert text.count('<details class="entry">') == 1 and "bad-body" in text and "seen-" not in text
    assert "<details" in text and "Validation errors" in text and "nope" in text  # the body as sent
    assert access not in text and "Bearer ***" in text
    everything = client.get("/__admin/ui/journal").get_data(as_text=True)
    assert "seen-&lt;script&gt;" in everything and "<script>" not in everything
    assert "alice-password" not in everything and "password=***" in everything  # the SCA form, masked
    assert client.get(f"/__admin/ui/journal?tpp={TPP_CLIENT_ID}&bank=30007").status_code == 200


def test_the_journal_refreshes_itself_only_when_asked(client):
    assert 'http-equiv="refresh"' not in client.get("/__admin/ui/journal").get_data(as_text=True)
    on = client.get("/__admin/ui/journal?refresh=on&status=200").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="5">' in on
    assert 'href="/__admin/ui/journal?status=200"' in on  # the toggle keeps the filters


def test_the_journal_is_emptied_and_the_sandbox_reset_from_the_console(client, tpp):
    tpp.tokens()
    assert post(client, "/__admin/ui/journal/clear").status_code == 200
    assert client.get("/__admin/requests").get_json()["count"] == 0
    post(client, "/__admin/ui/clock", action="advance", advance="PT5M")
    reset = post(client, "/__admin/ui/reset")
    assert reset.status_code == 200 and "initial state" in shown(reset)
    assert client.get("/__admin/tokens").get_json()["count"] == 0
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


def test_the_console_calls_the_admin_apis_functions(client, monkeypatch):
    """No second implementation: replacing the API's function changes what the console does."""
    calls = []
    monkeypatch.setattr(admin, "move_clock", lambda body: calls.append(body) or admin.clock_state())
    monkeypatch.setattr(admin, "add_rule", lambda body: calls.append(body) or body)
    post(client, "/__admin/ui/clock", action="advance", advance="PT3H")
    post(client, "/__admin/ui/rules", name="r", status="503", nth="2")
    assert calls == [{"advance": "PT3H"},
                     {"action": {"status": 503}, "name": "r", "match": {"nth": 2}}]
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


# -- go-live readiness -----------------------------------------------------------------------------------
def test_the_conformance_page_shows_each_tpps_report_summary_and_links(client, tpp):
    tpp.confirm(tpp.tokens()["access_token"])
    page = client.get("/__admin/ui/conformance")
    assert page.status_code == 200
    scenario_tpps = client.get("/__admin/scenario").get_json()["tpps"]
    cards = page.get_data(as_text=True).split('<div class="card conformance-tpp">')[1:]
    assert len(cards) == len(scenario_tpps) >= 1
    for card, listed in zip(cards, scenario_tpps):
        summary = client.get("/__admin/conformance", query_string={"client_id": listed["client_id"]}).get_json()["summary"]
        text = html.unescape(re.sub(r"<[^>]+>", " ", card))
        assert listed["name"] in text and listed["client_id"] in text
        assert (f"{summary['passed']} passed, {summary['failed']} failed, {summary['warning']} warning(s), "
                f"{summary['not-run']} not run") in text
        for fmt in ("html", "junit", "json"):
            assert f"/__admin/ui/conformance/report?client_id={listed['client_id']}&amp;format={fmt}" in card
    mine = client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["summary"]
    assert mine["passed"] > 0  # the TPP's journey and call were judged, and the page says so


@pytest.mark.parametrize("fmt, mimetype", [("html", "text/html"), ("junit", "application/xml"),
                                           ("json", "application/json")])
def test_the_consoles_report_links_serve_the_apis_documents(client, tpp, fmt, mimetype):
    tpp.confirm(tpp.tokens()["access_token"])
    query = {"client_id": TPP_CLIENT_ID, "format": fmt}
    console, api = client.get("/__admin/ui/conformance/report", query_string=query), \
        client.get("/__admin/conformance", query_string=query)
    assert console.status_code == api.status_code == 200 and console.mimetype == api.mimetype == mimetype
    assert console.get_data() == api.get_data()


@pytest.mark.parametrize("query, status, message", [
    ({"client_id": "PSDFR-ACPR-00000"}, 404, "no TPP with client_id"),
    ({"format": "html"}, 400, "client_id: name the TPP"),
    ({"client_id": TPP_CLIENT_ID, "format": "pdf"}, 400, "format: one of json, junit, html"),
])
def test_a_bad_report_link_is_the_consoles_error_page(client, query, status, message):
    response = client.get("/__admin/ui/conformance/report", query_string=query)
    assert response.status_code == status and response.mimetype == "text/html"
    assert message in shown(response)


def test_a_plan_started_from_the_form_arms_its_module_for_the_tpps_next_call(client, tpp):
    access = tpp.tokens()["access_token"]
    token = csrf(client, "/__admin/ui/conformance")
    started = client.post("/__admin/ui/conformance/plans", data={
        "csrf_token": token, "client_id": TPP_CLIENT_ID, "modules": ["rate-limited", "funds-false"]})
    assert started.status_code == 201 and f"started for {TPP_CLIENT_ID}: rate-limited, funds-false" in shown(started)
    modules = client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["modules"]
    assert [(m["id"], m["status"]) for m in modules] == [("rate-limited", "not-run"), ("funds-false", "not-run")]
    throttled = tpp.confirm(access)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    page = re.sub(r"\s+", " ", shown(client.get("/__admin/ui/conformance")))
    assert "rate-limited : not-run; funds-false : not-run" in page


@pytest.mark.parametrize("form", [
    {"client_id": TPP_CLIENT_ID},
    {"client_id": "PSDFR-ACPR-00000", "modules": ["rate-limited"]},
    {"client_id": TPP_CLIENT_ID, "modules": ["rate-limited", "<b>nope</b>"]},
])
def test_a_bad_plan_from_the_form_shows_the_apis_problems_and_starts_nothing(client, form):
    response = client.post("/__admin/ui/conformance/plans", data={"csrf_token": csrf(client), **form})
    api = client.post("/__admin/conformance/plans", json={"client_id": form["client_id"],
                                                           "modules": form.get("modules", [])})
    assert response.status_code == api.status_code == 422
    assert problems(response) == api.get_json()["problems"] and problems(response)
    assert "<b>nope</b>" not in response.get_data(as_text=True)
    if "modules" in form and form["client_id"] == TPP_CLIENT_ID:
        assert 'value="rate-limited" checked' in response.get_data(as_text=True)  # the form is kept
    assert client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["modules"] == []


@pytest.mark.parametrize("given", [None, "forged-token"])
def test_a_plan_form_without_its_csrf_token_starts_nothing(client, given):
    csrf(client, "/__admin/ui/conformance")
    response = client.post("/__admin/ui/conformance/plans", data={
        "client_id": TPP_CLIENT_ID, "modules": "rate-limited", **({"csrf_token": given} if given else {})})
    assert response.status_code == 403 and "CSRF token" in shown(response)
    assert client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["modules"] == []


def test_the_console_starts_plans_through_the_apis_function(client, monkeypatch):
    calls = []
    monkeypatch.setattr(admin_conformance, "start_conformance_plan",
                        lambda body: calls.append(body) or {"plan": "p", "client_id": body["client_id"], "modules": []})
    post(client, "/__admin/ui/conformance/plans", client_id=TPP_CLIENT_ID, modules="funds-false")
    assert calls == [{"client_id": TPP_CLIENT_ID, "modules": ["funds-false"]}]
    assert client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["modules"] == []
