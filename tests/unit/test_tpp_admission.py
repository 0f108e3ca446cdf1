"""The registry's one gate: may this TPP call this endpoint now (``tpp.registry.admission``)."""
from __future__ import annotations

import pytest
import yaml

from mock_aspsp.bank.scenario import parse_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.store import open_store
from mock_aspsp.testing import TPP_CLIENT_ID
from mock_aspsp.tpp.registry import admission

ENDPOINTS = ("authorize", "token", "revoke", "funds-confirmations")
MISSING_ROLE = "the TPP does not hold the card-issuer role (PSP_IC) required for funds confirmations"


def _scenario(roles=None):
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    if roles is not None:
        document["tpps"][0]["roles"] = roles
    return parse_scenario(yaml.safe_dump(document), "test")


@pytest.fixture
def store(tmp_path):
    return open_store(None, str(tmp_path / "state.sqlite3"))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_registered_card_issuer_may_call_every_endpoint(store, endpoint):
    admitted = admission(_scenario(), store, TPP_CLIENT_ID, endpoint)
    assert (admitted.tpp.client_id, admitted.refusal, admitted.missing_role) == (TPP_CLIENT_ID, None, None)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_unknown_tpp_may_call_nothing(store, endpoint):
    admitted = admission(_scenario(), store, "PSDFR-ACPR-00000", endpoint)
    assert admitted.tpp is None
    assert admitted.refusal == "no TPP is registered with client_id 'PSDFR-ACPR-00000'"


@pytest.mark.parametrize("change,reason", [
    ({"status": "revoked"}, "the TPP's profile is revoked at this bank"),
    ({"denied": "unpaid fees"}, "the bank denies access to this TPP: unpaid fees"),
])
def test_the_admin_apis_changes_are_the_registrys(store, change, reason):
    store.patch_tpp(TPP_CLIENT_ID, change)
    for endpoint in ENDPOINTS:
        admitted = admission(_scenario(), store, TPP_CLIENT_ID, endpoint)
        assert admitted.tpp.client_id == TPP_CLIENT_ID and admitted.refusal == reason
    store.patch_tpp(TPP_CLIENT_ID, {"status": "active", "denied": None})
    assert admission(_scenario(), store, TPP_CLIENT_ID, "token").refusal is None


def test_the_journey_and_the_api_ask_the_card_issuer_role_token_and_revoke_do_not(store):
    scenario = _scenario(roles=["PSP_AI"])
    asked = {endpoint: admission(scenario, store, TPP_CLIENT_ID, endpoint) for endpoint in ENDPOINTS}
    assert {endpoint: a.missing_role for endpoint, a in asked.items()} == {
        "authorize": MISSING_ROLE, "token": None, "revoke": None, "funds-confirmations": MISSING_ROLE}
    assert all(a.refusal is None for a in asked.values())  # the API may still be let in by a QSealC with the role
