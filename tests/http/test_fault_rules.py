"""Fault and latency injection from scenario rules and the admin API."""
import pytest
import yaml

from mock_aspsp.bank.scenario import ScenarioError, parse_scenario
from mock_aspsp.resources import default_scenario
from support import portal_body


def scenario_with(tmp_path, rules):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["rules"] = rules
    path = tmp_path / "faulty.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    return path


@pytest.fixture
def scenario_path(request, tmp_path):
    return scenario_with(tmp_path, getattr(request, "param", []))


@pytest.mark.parametrize("scenario_path", [[
    {"name": "throttle", "match": {"endpoint": "funds-confirmations"},
     "action": {"status": 429, "retry_after": 30}, "times": 2}]], indirect=True)
def test_rule_limited_to_two_uses_fires_exactly_twice(tpp, client):
    access = tpp.tokens()["access_token"]
    statuses = [tpp.confirm(access).status_code for _ in range(4)]
    assert statuses == [429, 429, 200, 200]
    throttled = client.get("/__admin/requests?status=429").get_json()["requests"]
    assert [e["fault_rule"] for e in throttled] == ["throttle", "throttle"]


@pytest.mark.parametrize("scenario_path", [[
    {"match": {"nth": 3}, "action": {"status": 503, "retry_after": 5}}]], indirect=True)
def test_nth_call_gets_a_503_error_model_with_retry_after(tpp):
    access = tpp.tokens()["access_token"]
    answers = [tpp.confirm(access) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 503, 200]
    failed = answers[2]
    assert failed.headers["Retry-After"] == "5"
    assert failed.get_json()["status"] == 503 and failed.get_json()["error"] == "Service Unavailable"
    assert failed.headers["X-Request-ID"] == "req-1"


@pytest.mark.parametrize("scenario_path", [[
    {"match": {"iban": "FR7630007000010001234560191"}, "action": {"status": 500}},
    {"match": {"amount": "666"}, "action": {"status": 408, "message": "the core banking system timed out"}}]],
    indirect=True)
def test_rules_match_on_iban_and_amount(tpp):
    other = "FR7630007000010001234560191"
    portal = tpp.tokens()["access_token"]
    assert tpp.confirm(portal, portal_body(amount="666")).get_json()["message"] == "the core banking system timed out"
    assert tpp.confirm(portal, portal_body(amount="666.00")).status_code == 408
    assert tpp.confirm(portal, portal_body(amount="667")).status_code == 200
    second = tpp.tokens(iban=other)["access_token"]
    assert tpp.confirm(second, portal_body(iban=other, amount="1")).status_code == 500


@pytest.mark.parametrize("scenario_path", [[
    {"match": {"endpoint": "token", "tpp": "PSDFR-ACPR-12345"}, "action": {"status": 503}, "times": 1}]],
    indirect=True)
def test_token_endpoint_faults_answer_in_rfc6749_shape(tpp):
    code = tpp.journey()["code"]
    failed = tpp.exchange(code)
    assert failed.status_code == 503
    assert failed.get_json()["error"] == "temporarily_unavailable"
    assert tpp.exchange(code).status_code == 200  # the fault came before the code was spent


@pytest.mark.parametrize("scenario_path", [[
    {"match": {"endpoint": "authorize"}, "action": {"status": 503}, "times": 1}]], indirect=True)
def test_authorize_faults_are_an_html_page(tpp):
    page = tpp.start()
    assert page.status_code == 503
    assert page.content_type.startswith("text/html")
    assert tpp.start().status_code == 303


@pytest.mark.parametrize("scenario_path", [[
    {"name": "coin", "match": {"probability": 0.5, "seed": 7}, "action": {"status": 500}}]], indirect=True)
def test_probability_is_reproducible_from_the_seed(tpp, client):
    access = tpp.tokens()["access_token"]
    first = [tpp.confirm(access).status_code for _ in range(12)]
    assert 500 in first and 200 in first
    client.post("/__admin/reset")
    access = tpp.tokens()["access_token"]
    assert [tpp.confirm(access).status_code for _ in range(12)] == first


def test_admin_rules_are_validated_added_listed_and_cleared(tpp, client):
    access = tpp.tokens()["access_token"]
    bad = client.post("/__admin/rules", json={"match": {"endpoint": "nowhere"}, "action": {}})
    assert bad.status_code == 422
    assert any("match.endpoint" in p for p in bad.get_json()["problems"])
    added = client.post("/__admin/rules", json={"name": "busy", "action": {"status": 429}, "times": 1})
    assert added.status_code == 201
    assert [r["name"] for r in client.get("/__admin/rules").get_json()["rules"]] == ["busy"]
    assert tpp.confirm(access).status_code == 429
    assert tpp.confirm(access).status_code == 200
    assert client.get("/__admin/rules").get_json()["rules"][0]["fired"] == 1
    client.post("/__admin/rules", json={"action": {"status": 500}})
    assert tpp.confirm(access).status_code == 500
    assert client.delete("/__admin/rules").status_code == 200
    assert tpp.confirm(access).status_code == 200


def test_admin_rule_names_must_be_unique(client):
    assert client.post("/__admin/rules", json={"name": "x", "action": {"status": 500}}).status_code == 201
    assert client.post("/__admin/rules", json={"name": "x", "action": {"status": 500}}).status_code == 422


@pytest.mark.parametrize("rule,needle", [
    ({"action": {"message": "only words"}}, "at least one of status, delay, drop"),
    ({"action": {"delay": "PT31S"}}, "at most PT30S"),
    ({"match": {"seed": 3}, "action": {"status": 500}}, "seed only makes sense"),
    ({"action": {"status": 418}}, "rules[0].action.status"),
    ({"action": {"drop": False}}, "rules[0].action.drop: False is not one of [True]"),
])
def test_bad_rules_are_scenario_problems(rule, needle):
    text = yaml.safe_dump({**yaml.safe_load(default_scenario().read_text()), "rules": [rule]})
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text, "faulty.yaml")
    assert any(needle in str(p) for p in refused.value.problems)
    assert all(str(p).startswith("faulty.yaml:") for p in refused.value.problems)
