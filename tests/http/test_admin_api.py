"""The admin API: what QA and CI use to drive the sandbox."""
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import PORTAL_IBAN
from support import START, portal_body


def test_health_names_the_scenario_and_mock_time(client):
    assert client.get("/__admin/health").get_json() == {
        "status": "ok", "scenario": "default", "time": "2026-01-15T10:00:00Z"}


def test_clock_advance_set_and_reset(client):
    assert client.post("/__admin/clock", json={"advance": "PT1H"}).get_json()["now"] == "2026-01-15T11:00:00Z"
    assert client.post("/__admin/clock", json={"advance": "P1D"}).get_json()["offset"] == "P1DT1H"
    moved = client.post("/__admin/clock", json={"set": "2026-07-01T00:00:00Z"}).get_json()
    assert moved["now"] == "2026-07-01T00:00:00Z"
    assert client.get("/__admin/clock").get_json()["now"] == "2026-07-01T00:00:00Z"
    assert client.post("/__admin/clock", json={"reset": True}).get_json() == {
        "now": "2026-01-15T10:00:00Z", "real": "2026-01-15T10:00:00Z", "offset": "PT0S"}


@pytest.mark.parametrize("body", [{"advance": "P1M"}, {"advance": 3600}, {"set": "tomorrow"}, {}, {"reset": "yes"}])
def test_bad_clock_moves_are_refused_and_change_nothing(client, body):
    response = client.post("/__admin/clock", json=body)
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


def test_token_expiry_follows_the_admin_clock_only(client, tpp):
    tokens = tpp.tokens()
    assert tpp.confirm(tokens["access_token"]).status_code == 200
    client.post("/__admin/clock", json={"advance": "PT59M59S"})
    assert tpp.confirm(tokens["access_token"]).status_code == 200
    client.post("/__admin/clock", json={"advance": "PT1S"})
    assert tpp.confirm(tokens["access_token"]).status_code == 401
    client.post("/__admin/clock", json={"set": (START + timedelta(days=181)).isoformat()})
    refused = tpp.refresh(tokens["refresh_token"])
    assert refused.get_json()["error"] == "invalid_grant"


def test_reset_forgets_tokens_journal_clock_and_account_changes(client, tpp):
    tokens = tpp.tokens()
    client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"balance": "0"})
    client.post("/__admin/clock", json={"advance": "PT5M"})
    assert client.post("/__admin/reset").status_code == 200
    assert client.get("/__admin/tokens").get_json()["count"] == 0
    assert client.get("/__admin/requests").get_json()["count"] == 0
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"
    assert tpp.confirm(tokens["access_token"]).status_code == 401
    assert tpp.confirm(tpp.tokens()["access_token"]).get_json()["result"] is True


def test_account_patch_changes_the_answer_and_is_validated(client, tpp):
    access = tpp.tokens()["access_token"]
    patched = client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"balance": "100.00", "overdraft": "50"})
    assert patched.get_json()["balance"] == "100.00"
    assert tpp.confirm(access, portal_body(amount="150")).get_json()["result"] is True
    assert tpp.confirm(access, portal_body(amount="150.01")).get_json()["result"] is False
    client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"status": "blocked"})
    blocked = tpp.confirm(access, portal_body(amount="1"))
    assert blocked.status_code == 403
    assert "blocked" in blocked.get_json()["message"]
    for body in ({"status": "closed"}, {"colour": "red"}, {}, ["x"]):
        assert client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json=body).status_code == 400
    refused = client.patch(f"/__admin/accounts/{PORTAL_IBAN}", json={"balance": "lots"})
    assert refused.status_code == 422 and refused.get_json()["problems"][0].startswith("balance: "), refused.get_json()
    assert client.patch("/__admin/accounts/FR7630007000010001234560191?bank=13807",
                        json={"balance": "1"}).status_code == 404


def test_tokens_list_shows_no_secrets_and_bank_revocation_kills_the_pair(client, tpp):
    tokens = tpp.tokens()
    listing = client.get("/__admin/tokens").get_json()
    assert listing["count"] == 1
    text = str(listing)
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text
    assert listing["tokens"][0]["psu"] == "alice" and listing["tokens"][0]["state"] == "active"
    assert client.post("/__admin/tokens/revoke", json={}).status_code == 400
    assert client.post("/__admin/tokens/revoke", json={"psu": "alice"}).get_json() == {"revoked": 1}
    assert tpp.confirm(tokens["access_token"]).status_code == 401
    assert tpp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert client.get("/__admin/tokens").get_json()["tokens"][0]["state"] == "revoked"


def test_journal_records_a_rejected_request_with_its_validation_error(client, tpp):
    access = tpp.tokens()["access_token"]
    client.delete("/__admin/requests")
    tpp.confirm(access, portal_body(amount="12,5"), request_id="bad-amount")
    tpp.confirm(access, request_id="good")
    entries = client.get("/__admin/requests?status=400").get_json()["requests"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["x_request_id"] == "bad-amount"
    assert entry["client_id"] == "PSDFR-ACPR-12345"
    assert entry["bank"] == "30007"
    assert "instructedAmount.amount" in entry["error"]
    assert any("instructedAmount.amount" in e for e in entry["validation_errors"])
    assert client.get("/__admin/requests?tpp=PSDFR-ACPR-12345&path=funds").get_json()["count"] == 2
    assert client.delete("/__admin/requests").status_code == 200
    assert client.get("/__admin/requests").get_json()["count"] == 0


def test_journal_is_bounded_oldest_first(tmp_path):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["settings"]["journal_size"] = 3
    path = tmp_path / "small-journal.yaml"
    path.write_text(yaml.safe_dump(scenario))
    client = create_app(Config(scenario=path, db=tmp_path / "s.db"), Clock(real=lambda: START)).test_client()
    for n in range(5):
        client.post("/v1/funds-confirmations", headers={"X-Request-ID": f"r{n}"})
    ids = [e["x_request_id"] for e in client.get("/__admin/requests").get_json()["requests"]]
    assert ids == ["r2", "r3", "r4"]


def test_scenario_swap_refused_keeps_the_old_world(client, tpp):
    access = tpp.tokens()["access_token"]
    refused = client.put("/__admin/scenario", data="banks: [{code: '1', name: x}]\ntpps: []\n",
                         content_type="application/yaml")
    assert refused.status_code == 422
    problems = refused.get_json()["problems"]
    assert any("banks[0].code" in p for p in problems) and any("tpps" in p for p in problems)
    assert client.get("/__admin/scenario").get_json()["name"] == "default"
    assert tpp.confirm(access).get_json()["result"] is True


def test_scenario_swap_accepted_changes_the_world(client, tpp):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["name"] = "poorer"
    scenario["psus"][0]["accounts"][0]["balance"] = "10.00"
    response = client.put("/__admin/scenario", data=yaml.safe_dump(scenario), content_type="application/yaml")
    assert response.status_code == 200 and response.get_json()["name"] == "poorer"
    assert client.get("/__admin/scenario").get_json()["name"] == "poorer"
    access = tpp.tokens()["access_token"]
    assert tpp.confirm(access).get_json()["result"] is False


def test_scenario_swap_accepts_json(client):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["name"] = "as-json"
    assert client.put("/__admin/scenario", json=scenario).get_json()["name"] == "as-json"


def test_scenario_swap_refuses_non_utf8(client):
    assert client.put("/__admin/scenario", data=b"\xff\xfe", content_type="application/yaml").status_code == 400


@pytest.fixture
def guarded_client(tmp_path):
    config = Config(scenario=Path(default_scenario()), db=tmp_path / "s.db", admin_token="s3cret")
    return create_app(config, Clock(real=lambda: START)).test_client()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}])
def test_admin_refused_without_the_token_when_one_is_set(guarded_client, headers):
    response = guarded_client.post("/__admin/reset", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["status"] == 401
    assert guarded_client.get("/__admin/tokens", headers=headers).status_code == 401


def test_admin_accepts_the_token_and_health_stays_open(guarded_client):
    assert guarded_client.post("/__admin/reset", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded_client.get("/__admin/health").status_code == 200


def test_a_swapped_scenario_brings_its_journal_size(client):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["settings"]["journal_size"] = 2
    assert client.put("/__admin/scenario", data=yaml.safe_dump(scenario), content_type="application/yaml").status_code == 200
    for n in range(4):
        client.post("/v1/funds-confirmations", headers={"X-Request-ID": f"s{n}"})
    assert [e["x_request_id"] for e in client.get("/__admin/requests").get_json()["requests"]] == ["s2", "s3"]
