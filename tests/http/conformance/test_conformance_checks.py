"""Go-live readiness, passive checks (issue 15): scripted TPP clients through the Flask test client.

A well-behaved client passes every check it exercises; each misbehaving client
fails exactly the check it breaks and nothing else. Both stores; time is the
injected clock (no sleep).
"""
from __future__ import annotations

from xml.etree import ElementTree

import pytest

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID
from conformance_world import GoodTpp, RetriesAtOnce, make_app, report
from mock_aspsp.conformance.checks import CHECKS

ALL = {c.id for c in CHECKS}


def statuses(client) -> dict:
    return {c["id"]: c["status"] for c in report(client).get_json()["checks"]}


def failed(client) -> set:
    return {k for k, v in statuses(client).items() if v == "failed"}


def good_journey(tpp: GoodTpp, client, store, advance_mock) -> None:
    """Every passive check exercised: link, calls, a 429, an expiry, a refresh, a refused refresh, a revoke."""
    assert tpp.link()
    assert tpp.check_funds("100") is True
    client.post("/__admin/rules", json={"name": "busy", "match": {"endpoint": "funds-confirmations"},
                                        "action": {"status": 429, "retry_after": 3}, "times": 1})
    assert tpp.check_funds("101") is True  # 429, waited 3 s, then answered
    advance_mock(3700)  # the access token expires; the refresh token lives
    assert tpp.check_funds("102") is True  # 401 expired -> refresh -> retried
    client.post("/__admin/tokens/revoke", json={"client_id": CLIENT_ID})
    assert tpp.refresh() is False  # invalid_grant: the TPP drops the pair...
    assert tpp.check_funds("103") is True  # ... and starts a new journey
    tpp.revoke()


@pytest.fixture
def advance_mock(store):
    moved = [0]

    def advance(seconds: int) -> None:
        from datetime import timedelta

        moved[0] += seconds
        store.set_clock_offset(timedelta(seconds=moved[0]))

    return advance


def test_nothing_to_judge_is_not_run_never_passed(client):
    body = report(client).get_json()
    assert body["client_id"] == CLIENT_ID and body["requests"] == 0
    assert {c["id"] for c in body["checks"]} == ALL
    assert {c["status"] for c in body["checks"]} == {"not-run"}
    assert body["summary"]["ready"] is False and body["summary"]["not-run"] == len(ALL)
    for check in body["checks"]:
        assert check["title"] and check["source"] and check["evidence"] == []


def test_a_well_behaved_client_passes_every_check(client, clock, store, advance_mock):
    good_journey(GoodTpp(client, clock), client, store, advance_mock)
    assert statuses(client) == {check: "passed" for check in ALL}
    assert report(client).get_json()["summary"]["ready"] is True


class SendsScope(GoodTpp):
    def token_extra(self):
        return {"scope": "cbpii"}


class ReusesRequestId(GoodTpp):
    def request_id(self):
        return "always-the-same"


class WeakState(GoodTpp):
    def state(self):
        return "state-123"


class Unsigned(GoodTpp):
    def signs(self):
        return False


def test_sending_scope_fails_only_that_check(client, clock):
    assert SendsScope(client, clock).link() is False  # the bank refuses the exchange
    assert failed(client) == {"token-request-without-scope"}
    evidence = next(c for c in report(client).get_json()["checks"] if c["id"] == "token-request-without-scope")["evidence"]
    assert [(e["path"], e["status"]) for e in evidence] == [("/token", 400)]


def test_reusing_an_x_request_id_fails_only_that_check(client, clock):
    tpp = ReusesRequestId(client, clock)
    assert tpp.check_funds("100") is True and tpp.check_funds("200") is True
    assert failed(client) == {"unique-x-request-id"}
    check = next(c for c in report(client).get_json()["checks"] if c["id"] == "unique-x-request-id")
    assert [e["x_request_id"] for e in check["evidence"]] == ["always-the-same"]


def test_retrying_at_once_after_a_429_fails_only_that_check(client, clock):
    client.post("/__admin/rules", json={"name": "busy", "action": {"status": 429, "retry_after": 2}, "times": 1})
    assert RetriesAtOnce(client, clock).check_funds() is True
    assert failed(client) == {"honours-retry-after"}
    check = next(c for c in report(client).get_json()["checks"] if c["id"] == "honours-retry-after")
    assert [e["status"] for e in check["evidence"]] == [429, 200]
    assert "0.2 s" in check["evidence"][1]["note"]


def test_waiting_the_retry_after_delay_passes(client, clock):
    client.post("/__admin/rules", json={"name": "busy", "action": {"status": 503, "retry_after": 2}, "times": 1})
    assert GoodTpp(client, clock).check_funds() is True
    assert statuses(client)["honours-retry-after"] == "passed"


def test_refreshing_in_a_loop_after_invalid_grant_fails_only_that_check(client, clock):
    class Loops(GoodTpp):
        def refreshes_after_invalid_grant(self):
            return 3

    tpp = Loops(client, clock)
    assert tpp.link()
    client.post("/__admin/tokens/revoke", json={"client_id": CLIENT_ID})
    assert tpp.refresh() is False
    assert failed(client) == {"new-sca-after-refresh-refused"}


def test_using_the_old_access_token_after_a_refresh_fails_only_that_check(client, clock):
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    old = tpp.access
    assert tpp.refresh()
    assert tpp.call("100", access=old).status_code == 401
    assert failed(client) == {"old-access-token-dropped-after-refresh"}


def test_sending_a_refused_token_again_fails_only_that_check(client, clock):
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    client.post("/__admin/tokens/revoke", json={"client_id": CLIENT_ID})
    assert tpp.call("100").status_code == 401
    assert tpp.call("100").status_code == 401
    assert failed(client) == {"no-reuse-of-dead-access-token"}


def test_a_new_journey_instead_of_a_refresh_fails_only_that_check(client, clock, advance_mock):
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    advance_mock(3700)
    assert tpp.call("100").status_code == 401
    assert tpp.link()  # a new PSU journey, though the refresh token was valid
    assert failed(client) == {"refresh-instead-of-new-sca"}


def test_a_weak_or_reused_state_fails_only_that_check(client, clock):
    tpp = WeakState(client, clock)
    assert tpp.link() and tpp.link()
    assert failed(client) == {"state-unpredictable"}
    notes = [e["note"] for c in report(client).get_json()["checks"] if c["id"] == "state-unpredictable"
             for e in c["evidence"]]
    assert any("bits" in n for n in notes) and any("reused" in n for n in notes)


class OnThePortalPath(GoodTpp):
    authorize_path = "/stet/psd2/oauth/authorize"


class WeakStateOnThePortalPath(WeakState):
    authorize_path = "/stet/psd2/oauth/authorize"


def test_journeys_started_on_the_portals_authorize_path_are_judged_alike(client, clock):
    """/stet/psd2/oauth/authorize is /authorize under the portal's name: its state and redirect_uri count."""
    assert OnThePortalPath(client, clock).link()
    assert {k: v for k, v in statuses(client).items() if k in ("state-unpredictable", "redirect-uri-consistent")} \
        == {"state-unpredictable": "passed", "redirect-uri-consistent": "passed"}
    weak = WeakStateOnThePortalPath(client, clock)
    assert weak.link() and weak.link()
    assert "state-unpredictable" in failed(client)


def test_unsigned_calls_fail_even_when_the_bank_answers(client, clock):
    assert Unsigned(client, clock).check_funds() is True  # lenient: answered
    assert failed(client) == {"signed-api-calls"}


def test_token_without_qwac_fails_only_that_check(client, clock):
    class NoQwac(GoodTpp):
        def qwac(self):
            return {}

    assert NoQwac(client, clock).check_funds() is True  # lenient: the QWAC is checked only when sent
    assert failed(client) == {"qwac-at-token"}


def test_a_wrong_redirect_uri_and_a_bad_body_fail_their_checks(client, clock):
    tpp = GoodTpp(client, clock)

    class OtherRedirect(GoodTpp):
        def token_extra(self):
            return {"redirect_uri": "https://tpp.example.com/other"}

    assert OtherRedirect(client, clock).link() is False
    assert failed(client) == {"redirect-uri-consistent"}
    assert tpp.link()
    response = client.post("/stet/psd2/v1.4.2/funds-confirmations", json={"nothing": True},
                           headers={"Authorization": f"Bearer {tpp.access}", "X-Request-ID": "bad-body-1"})
    assert response.status_code == 400
    assert failed(client) == {"redirect-uri-consistent", "schema-valid-requests", "signed-api-calls"}


def test_pkce_without_s256_is_a_warning_not_a_failure(client):
    client.get("/authorize", query_string={"response_type": "code", "client_id": CLIENT_ID, "scope": "cbpii",
                                           "redirect_uri": "https://tpp.example.com/callback",
                                           "state": "Zk3" * 20, "login_hint": "bruno"})
    checks = statuses(client)
    assert checks["pkce-s256"] == "warning" and "failed" not in checks.values()


def test_junit_parses_with_a_failure_carrying_the_evidence(client, clock):
    tpp = ReusesRequestId(client, clock)
    tpp.check_funds("100"), tpp.check_funds("200")
    response = report(client, "junit")
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.get_data())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == ALL
    failure = cases["unique-x-request-id"].find("failure")
    assert failure is not None and "always-the-same" in failure.text and "/stet/psd2/v1.4.2" in failure.text
    assert cases["signed-api-calls"].find("failure") is None and cases["signed-api-calls"].find("skipped") is None
    assert cases["refresh-instead-of-new-sca"].find("skipped") is not None
    suite = next(root.iter("testsuite"))
    assert suite.get("failures") == "1" and suite.get("tests") == str(len(ALL))


def test_html_page_is_escaped_and_says_the_summary(client, clock):
    class Hostile(ReusesRequestId):
        def request_id(self):
            return "<script>alert(1)</script>"

    tpp = Hostile(client, clock)
    tpp.check_funds("100"), tpp.check_funds("200")
    page = report(client, "html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1 failed" in page and "not ready" in page and "@media print" in page
    assert "mock-aspsp 0." in page and "Carte Exemple SAS" in page


def test_reset_clears_the_report(client, clock):
    ReusesRequestId(client, clock).check_funds()
    assert report(client).get_json()["requests"] > 0
    client.post("/__admin/reset")
    assert set(statuses(client).values()) == {"not-run"}


@pytest.mark.parametrize("query, status", [({}, 400), ({"client_id": "PSDFR-ACPR-00000"}, 404),
                                           ({"client_id": CLIENT_ID, "format": "pdf"}, 400)])
def test_bad_report_requests_get_clear_errors(client, query, status):
    response = client.get("/__admin/conformance", query_string=query)
    assert response.status_code == status and response.get_json()["message"]


def test_the_report_is_protected_like_the_other_admin_routes(tmp_path, scenario_path, store_url, clock):
    client = make_app(tmp_path, scenario_path, store_url, clock, admin_token="s3cret").test_client()
    assert client.get("/__admin/conformance", query_string={"client_id": CLIENT_ID}).status_code == 401
    answer = client.get("/__admin/conformance", query_string={"client_id": CLIENT_ID},
                        headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200


def test_every_worker_reads_the_same_report(tmp_path, scenario_path, store_url, clock):
    """Two apps on one store, as two workers: what one saw, the other reports."""
    first = make_app(tmp_path, scenario_path, store_url, clock).test_client()
    second = make_app(tmp_path, scenario_path, store_url, clock).test_client()
    tpp = ReusesRequestId(first, clock)
    tpp.check_funds("100"), tpp.check_funds("200")
    assert failed(second) == {"unique-x-request-id"}


def test_the_journal_keeps_fingerprints_never_tokens(client, clock):
    tpp = GoodTpp(client, clock)
    tpp.check_funds()
    text = client.get("/__admin/requests").get_data(as_text=True)
    assert tpp.access not in text and tpp.refresh_token not in text
