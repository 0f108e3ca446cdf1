"""Go-live readiness, active modules (issue 15): the bank misbehaves once, on purpose, and judges the reaction.

A plan runs its modules in order on the TPP's next journeys and calls; the
well-behaved client passes them all, each misbehaving one fails the module it
breaks. Plans live in the store: both stores, and two apps on one store as two
workers.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from conformance_world import GoodTpp, RetriesAtOnce, make_app, report
from mock_aspsp.conformance.modules import MODULES
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID


def start(client, *modules, client_id=CLIENT_ID):
    response = client.post("/__admin/conformance/plans", json={"client_id": client_id, "modules": list(modules)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def modules(client) -> dict:
    return {m["id"]: m["status"] for m in report(client).get_json()["modules"]}


def failed_checks(client) -> set:
    return {c["id"] for c in report(client).get_json()["checks"] if c["status"] == "failed"}


def test_a_well_behaved_client_passes_every_module_in_order(client, clock, store):
    plan = start(client, *MODULES)
    assert [m["id"] for m in plan["modules"]] == list(MODULES)
    tpp, moved = GoodTpp(client, clock), timedelta()
    for step in range(60):
        if step % 4 == 0:
            tpp.link()  # another journey (a PSU links an account again)
        elif step % 4 == 1:
            moved += timedelta(seconds=3700)  # the access token expires: the TPP refreshes
            store.set_clock_offset(moved)
        tpp.check_funds(str(100 + step))
        if "not-run" not in modules(client).values():
            break
    assert modules(client) == {module: "passed" for module in MODULES}, [(m["id"], m["detail"], m["evidence"]) for m in report(client).get_json()["modules"] if m["status"] != "passed"]
    assert failed_checks(client) == set(), [(c["detail"], c["evidence"]) for c in report(client).get_json()["checks"] if c["status"] == "failed"]
    for item in report(client).get_json()["modules"]:
        assert [e["note"] for e in item["evidence"]][0] == "the bank misbehaved here, on purpose"


def test_modules_wait_not_run_until_the_tpp_shows_its_reaction(client, clock):
    start(client, "rate-limited", "funds-false")
    assert modules(client) == {"rate-limited": "not-run", "funds-false": "not-run"}
    details = {m["id"]: m["detail"] for m in report(client).get_json()["modules"]}
    assert "waiting" in details["rate-limited"] and details["funds-false"] == "not reached yet"


def test_redeeming_a_code_that_came_back_with_a_wrong_state_fails(client, clock):
    class RedeemsAnyway(GoodTpp):
        def redeems_on_wrong_state(self):
            return True

    start(client, "callback-with-wrong-state")
    assert RedeemsAnyway(client, clock).link() is True
    assert modules(client) == {"callback-with-wrong-state": "failed"}
    assert failed_checks(client) == set()


def test_the_wrong_state_module_changes_only_the_state(client, clock):
    start(client, "callback-with-wrong-state")
    state = "Zq" + "x9Kp" * 12
    response = client.get("/authorize", query_string={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": "https://tpp.example.com/callback",
        "scope": "cbpii", "state": state, "login_hint": "bruno"})
    location = response.headers["Location"]
    assert "code=" in location and f"state={state}" not in location


def test_a_token_call_after_callback_with_error_fails(client, clock):
    start(client, "callback-with-error")
    tpp = GoodTpp(client, clock)
    assert tpp.link() is False
    client.post("/token", headers=tpp.qwac(), data={"grant_type": "authorization_code", "client_id": CLIENT_ID,
                                                     "code": "none", "redirect_uri": "https://tpp.example.com/callback"})
    assert modules(client) == {"callback-with-error": "failed"}


def test_retrying_at_once_after_the_rate_limited_module_fails(client, clock):
    start(client, "rate-limited")
    assert RetriesAtOnce(client, clock).check_funds() is True
    assert modules(client) == {"rate-limited": "failed"}
    assert failed_checks(client) == {"honours-retry-after"}  # the same rule, seen passively


def test_three_503s_without_retry_after_then_the_answer(client, clock):
    start(client, "service-unavailable")
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    answers = [tpp.call("100") for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 503, 200]
    assert all("Retry-After" not in a.headers for a in answers[:3])
    assert answers[0].get_json()["status"] == 503  # a STET ErrorModel


def test_a_client_backing_off_through_the_outage_passes(client, clock):
    start(client, "service-unavailable")
    tpp = GoodTpp(client, clock)
    assert tpp.check_funds() is True  # 1, 2 then 4 s of back-off: three retries
    assert modules(client) == {"service-unavailable": "passed"}
    assert "3 retries" in report(client).get_json()["modules"][0]["detail"]


def test_a_retry_storm_during_the_outage_fails(client, clock):
    start(client, "service-unavailable")
    assert RetriesAtOnce(client, clock).check_funds() is True  # three retries, each a fifth of a second later
    assert modules(client) == {"service-unavailable": "failed"}
    assert failed_checks(client) == set()  # no Retry-After named: only the module judges the storm


def test_a_storm_on_the_last_retry_fails(client, clock):
    start(client, "service-unavailable")
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    for wait in (1, 1, 0.5):
        assert tpp.call("100").status_code == 503
        clock.advance(wait)
    assert tpp.call("100").status_code == 200
    assert modules(client) == {"service-unavailable": "failed"}
    assert "0.5 s after a 503" in report(client).get_json()["modules"][0]["detail"]


def test_refreshing_in_a_loop_after_refresh_refused_fails(client, clock):
    class Loops(GoodTpp):
        def refreshes_after_invalid_grant(self):
            return 3

    start(client, "refresh-refused")
    tpp = Loops(client, clock)
    assert tpp.link()
    assert tpp.refresh() is False
    assert modules(client) == {"refresh-refused": "failed"}
    assert failed_checks(client) == {"new-sca-after-refresh-refused"}


def test_the_same_token_after_access_token_expires_early_fails(client, clock):
    start(client, "access-token-expires-early")
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    first = tpp.call("100")
    assert first.status_code == 401 and 'error="invalid_token"' in first.headers["WWW-Authenticate"]
    assert tpp.call("100").status_code == 200  # the token still works: the bank only said it expired
    assert modules(client) == {"access-token-expires-early": "failed"}


def test_calling_on_with_a_pair_the_psu_revoked_fails(client, clock):
    start(client, "consent-revoked-by-psu")
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    assert tpp.call("100").status_code == 401
    assert tpp.call("100").status_code == 401
    assert modules(client) == {"consent-revoked-by-psu": "failed"}
    assert client.get("/__admin/tokens").get_json()["tokens"][0]["state"] == "revoked"


def test_a_retry_storm_after_funds_false_fails(client, clock):
    start(client, "funds-false")
    tpp = GoodTpp(client, clock)
    assert tpp.link()
    answers = [tpp.call("100", coverage_id="same-check").get_json()["result"] for _ in range(3)]
    assert answers == [False, True, True]
    assert modules(client) == {"funds-false": "failed"}
    assert failed_checks(client) == set()


@pytest.mark.parametrize("body, problem", [
    ({"client_id": CLIENT_ID, "modules": ["no-such-module"]}, "modules[0]: unknown module"),
    ({"client_id": CLIENT_ID, "modules": ["rate-limited", "rate-limited"]}, "modules[1]: rate-limited is already"),
    ({"client_id": CLIENT_ID, "modules": []}, "modules: a non-empty list"),
    ({"client_id": "PSDFR-ACPR-00000", "modules": ["rate-limited"]}, "client_id: no TPP"),
    ({"modules": ["rate-limited"]}, "client_id: the TPP's client_id"),
    ({"client_id": CLIENT_ID, "modules": ["rate-limited"], "extra": 1}, "extra: unknown field"),
])
def test_a_bad_plan_is_refused_with_every_problem(client, body, problem):
    response = client.post("/__admin/conformance/plans", json=body)
    assert response.status_code == 422
    assert any(p.startswith(problem) for p in response.get_json()["problems"]), response.get_json()


def test_a_plan_started_on_one_worker_fires_once_on_another(tmp_path, scenario_path, store_url, clock):
    first = make_app(tmp_path, scenario_path, store_url, clock).test_client()
    second = make_app(tmp_path, scenario_path, store_url, clock).test_client()
    start(first, "rate-limited")
    tpp = GoodTpp(second, clock)
    assert tpp.link()
    assert tpp.call("100").status_code == 429
    assert GoodTpp(first, clock, access=tpp.access).call("100").status_code == 200  # fired once, for both
    assert modules(first) == {"rate-limited": "failed"}  # called again 0 s later


def test_without_a_plan_no_request_looks_one_up(client, clock, store, monkeypatch):
    """The serving targets: a call costs the one shared read every request makes, not a plan look-up."""
    def looked_up(*_):
        raise AssertionError("a plan was looked up while none is stored")

    monkeypatch.setattr(store, "plan", looked_up)
    tpp = GoodTpp(client, clock)
    assert tpp.link() and tpp.refresh() and tpp.check_funds() is True
    monkeypatch.undo()
    start(client, "funds-false")
    assert tpp.check_funds() is False  # a plan stored: this worker sees it at once


def test_reset_ends_the_plan(client, clock):
    start(client, "rate-limited")
    client.post("/__admin/reset")
    tpp = GoodTpp(client, clock)
    assert tpp.link() and tpp.call("100").status_code == 200
    assert report(client).get_json()["modules"] == []


def planned_world(path, *modules):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["conformance"] = [{"client_id": CLIENT_ID, "modules": list(modules)}]
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_a_scenario_starts_its_plan_and_a_reset_starts_it_again(tmp_path, scenario_path, store_url, clock):
    scenario_path.write_text(planned_world(scenario_path, "rate-limited"), encoding="utf-8")
    client = make_app(tmp_path, scenario_path, store_url, clock).test_client()
    assert modules(client) == {"rate-limited": "not-run"}
    tpp = GoodTpp(client, clock)
    assert tpp.link() and tpp.call("100").status_code == 429
    clock.advance(2)
    assert tpp.call("100").status_code == 200 and modules(client) == {"rate-limited": "passed"}
    client.post("/__admin/reset")
    assert modules(client) == {"rate-limited": "not-run"}
    assert tpp.link() and tpp.call("100").status_code == 429
    second = make_app(tmp_path, scenario_path, store_url, clock).test_client()  # a worker adopting it
    assert GoodTpp(second, clock, access=tpp.access).call("100").status_code == 200  # the plan not restarted
    assert modules(second) == {"rate-limited": "failed"}  # called again 0 s after the 429


def test_a_swapped_in_scenario_starts_its_plan(client, clock, scenario_path):
    assert report(client).get_json()["modules"] == []
    response = client.put("/__admin/scenario", data=planned_world(scenario_path, "funds-false", "rate-limited"),
                          content_type="application/yaml")
    assert response.status_code == 200, response.get_json()
    assert modules(client) == {"funds-false": "not-run", "rate-limited": "not-run"}
    assert GoodTpp(client, clock).check_funds() is False


def test_a_bad_conformance_key_is_refused_with_its_path(client, scenario_path):
    text = planned_world(scenario_path, "rate-limited", "no-such-module")
    response = client.put("/__admin/scenario", data=text, content_type="application/yaml")
    assert response.status_code == 422
    assert any("conformance[0].modules[1]" in str(p) and "unknown module" in str(p)
               for p in response.get_json()["problems"]), response.get_json()
    assert report(client).get_json()["modules"] == []
