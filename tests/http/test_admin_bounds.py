"""The admin API keeps mock time within what every later request can compute, and refuses criteria
that are not strings."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "body",
    [
        {"advance": "P99999999D"},  # past year 9999
        {"advance": "P999999999999D"},  # not even a timedelta
        {"set": "9999-12-31T23:00:00Z"},  # any expiry computed from it overflows
        {"set": "0001-01-01T00:00:00Z"},
    ],
)
def test_a_clock_move_out_of_range_is_refused_and_the_sandbox_keeps_answering(client, body):
    response = client.post("/__admin/clock", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    message = response.get_json()["message"]
    assert "mock time must stay between" in message or "too long a duration" in message, message
    assert client.get("/__admin/health").status_code == 200
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


def test_a_clock_set_far_ahead_but_in_range_still_works(client, tpp):
    assert client.post("/__admin/clock", json={"set": "2999-01-01T00:00:00Z"}).status_code == 200
    tokens = tpp.tokens()
    assert tpp.confirm(tokens["access_token"]).get_json()["result"] is True


@pytest.mark.parametrize("body", [{"psu": ["alice"]}, {"client_id": {"a": 1}}, {"bank": 30007}])
def test_admin_revoke_with_a_criterion_that_is_not_a_string_is_a_400(client, body):
    response = client.post("/__admin/tokens/revoke", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["message"].endswith("must be a string")


LONE_SURROGATE = '"\\ud800"'  # valid JSON text (an escape), but no UTF-8 string: SQLite and Redis cannot store it


@pytest.mark.parametrize("path,method,body", [
    ("/__admin/tokens/revoke", "POST", '{"psu": %s}'),
    ("/__admin/tokens/revoke", "POST", '{"client_id": "x", "reason": %s}'),
    ("/__admin/tpps/PSDFR-ACPR-12345", "PATCH", '{"denied": %s}'),
    ("/__admin/rules", "POST", '{"name": "r", "match": {"tpp": %s}, "action": {"status": 503}}'),
    ("/__admin/clock", "POST", '{%s: "PT1H"}'),
])
def test_a_string_that_is_not_text_is_a_400_and_nothing_is_stored(client, tpp, path, method, body):
    response = client.open(path, method=method, data=body % LONE_SURROGATE, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "surrogate" in response.get_json()["message"]
    assert tpp.start().status_code == 303  # a denial stored with it broke every /authorize of the TPP (500)


def test_a_denial_reason_is_at_most_what_a_scenario_allows(client, tpp):
    """The scenario's tpps[].denied has at most 200 characters; through the admin API a 200 000-character
    one was stored and sent back in every refusal, a redirect's Location included."""
    assert client.patch("/__admin/tpps/PSDFR-ACPR-12345", json={"denied": "d" * 201}).status_code == 400
    assert "error=" not in tpp.start().headers["Location"]
    assert client.patch("/__admin/tpps/PSDFR-ACPR-12345", json={"denied": "d" * 200}).status_code == 200
    assert "d" * 200 in tpp.start().headers["Location"]



def test_a_conformance_plan_for_a_huge_client_id_does_not_echo_it(client):
    response = client.post("/__admin/conformance/plans", json={"client_id": "Q" * 100_000, "modules": []})
    assert response.status_code == 422 and len(response.get_data()) < 2000, len(response.get_data())


@pytest.mark.parametrize("module", [[], {}, None, 1.5])
def test_a_conformance_module_that_is_not_a_name_is_a_422(client, module):
    response = client.post("/__admin/conformance/plans", json={"client_id": "PSDFR-ACPR-12345", "modules": [module]})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert any(p.startswith("modules[0]: unknown module") for p in response.get_json()["problems"])
