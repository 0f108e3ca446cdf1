"""Amounts are decimal, exactly as sent, and no stored amount can break a later funds check.

The attack run: ``3500.0000000000001`` against a 3500 limit answered ``true`` and was echoed
as ``3500.0`` (a binary float); ``PATCH /__admin/accounts/{iban} {"balance": "1e999999999"}``
was accepted and every later funds check on the account answered 500.
"""
from __future__ import annotations

import json

import pytest
import yaml

from mock_aspsp.bank.scenario import ScenarioError, parse_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import PORTAL_IBAN
from support import assert_error_model

FUNDS = "/stet/psd2/v1.4.2/funds-confirmations"


def confirm_text(tpp, access, text, version="v1.4.2"):
    """A funds confirmation whose body is sent byte for byte as written."""
    return tpp.client.post(f"/stet/psd2/{version}/funds-confirmations", data=text.encode(),
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {access}", "X-Request-ID": "req-1"})


def body_text(amount: str, iban=PORTAL_IBAN) -> str:
    return ('{"paymentCoverageRequestId": "MyCoverage123456", '
            f'"instructedAmount": {{"currency": "EUR", "amount": {amount}}}, "accountId": {{"iban": "{iban}"}}}}')


@pytest.fixture
def limit_3500(client):
    assert client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"balance": "3500", "overdraft": "0"}).status_code == 200


@pytest.mark.parametrize("version", ["v1.4.2", "v1.6.2"])  # the versions whose amount may be a JSON number
def test_a_number_a_hair_above_the_limit_is_not_covered(client, tpp, limit_3500, version):
    access = tpp.tokens()["access_token"]
    above = confirm_text(tpp, access, body_text("3500.0000000000001"), version)
    assert above.status_code == 200, above.get_data(as_text=True)
    assert above.get_json()["result"] is False
    assert confirm_text(tpp, access, body_text("3500.000"), version).get_json()["result"] is True
    assert confirm_text(tpp, access, body_text("35.00e2"), version).get_json()["result"] is True
    assert confirm_text(tpp, access, body_text("3.5000000000000001e3"), version).get_json()["result"] is False


def test_the_request_is_echoed_as_the_tpp_sent_it(client, tpp):
    access = tpp.tokens()["access_token"]
    for amount in ("3500.0000000000001", "12.50", "1.2E+1", "100"):
        text = body_text(amount)
        response = confirm_text(tpp, access, "\n  " + text + "\r\n")
        answer = response.get_data(as_text=True)
        assert response.status_code == 200, answer
        assert answer.startswith('{"request": ' + text + ', "result": true, "_links": '), answer
        assert json.loads(answer)["request"] == json.loads(text)


def test_a_body_in_utf16_is_echoed_in_utf8(client, tpp):
    access = tpp.tokens()["access_token"]
    text = body_text("12.50").replace("MyCoverage123456", "Café")
    response = tpp.client.post(FUNDS, data=text.encode("utf-16"), content_type="application/json",
                               headers={"Authorization": f"Bearer {access}", "X-Request-ID": "req-1"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["request"]["paymentCoverageRequestId"] == "Café"
    assert '"amount": 12.50' in response.get_data(as_text=True)


def test_a_fault_rule_on_an_amount_matches_it_exactly(client, tpp):
    access = tpp.tokens()["access_token"]
    rule = {"name": "exact", "match": {"amount": "3500"}, "action": {"status": 503}}
    assert client.post("/__admin/rules", json=rule).status_code == 201
    assert confirm_text(tpp, access, body_text("3500.0000000000001")).status_code == 200
    assert confirm_text(tpp, access, body_text("3500.00")).status_code == 503


ABSURD = ["1e999999999", "1E+14", "100000000000000", "-100000000000000", "NaN", "Infinity", "0x10", "1e-999999999",
          1e300, -1e300, 10 ** 20, float("inf"), True, None, [], {}]


@pytest.mark.parametrize("value", ABSURD, ids=repr)
@pytest.mark.parametrize("name", ["balance", "overdraft"])
def test_an_absurd_balance_or_overdraft_is_refused_and_nothing_breaks(client, tpp, name, value):
    access = tpp.tokens()["access_token"]
    patched = client.patch(f"/__admin/accounts/{PORTAL_IBAN}", data=json.dumps({name: value}),
                           content_type="application/json")
    body = assert_error_model(patched, 422)
    assert any(p.startswith(f"{name}: ") for p in body["problems"]), body
    assert tpp.confirm(access).get_json()["result"] is True


@pytest.mark.parametrize("value", ["99999999999999.999", "-99999999999999.999", 99999999999999, "0.001", -5])
def test_the_largest_amounts_are_accepted_and_computed_with(client, tpp, value):
    access = tpp.tokens()["access_token"]
    assert client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"balance": value, "overdraft": value}).status_code == 200
    assert tpp.confirm(access).status_code == 200


def scenario_with_balance(value) -> str:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["psus"][0]["accounts"][0]["balance"] = "PLACEHOLDER"
    return yaml.safe_dump(document, allow_unicode=True).replace("PLACEHOLDER", value)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+400", "100000000000000000000", "1e999999999",
                                   "'1e999999999'", "1.0e+14"])
def test_an_absurd_scenario_balance_is_a_problem(value):
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(scenario_with_balance(value), "absurd.yaml")
    assert [p.path for p in refused.value.problems] == ["psus[0].accounts[0].balance"], refused.value.problems


def test_an_absurd_scenario_balance_is_a_422_over_http(client):
    response = client.put("/__admin/scenario", data=scenario_with_balance(".nan"), content_type="application/yaml")
    body = assert_error_model(response, 422)
    assert any("psus[0].accounts[0].balance" in p for p in body["problems"]), body
