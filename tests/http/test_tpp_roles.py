"""The card-issuer role (PSP_IC): the PSU's journey and the API ask it of the TPP, ``/token`` does not.

The registry's roles are the scenario's; a signed API call proves the role by its QSealC instead
(tests/http/test_tpp_identity.py). Here the TPP loses the role while it holds tokens (a new scenario).
"""
from __future__ import annotations

import yaml

from mock_aspsp.resources import default_scenario
from support import assert_error_model, callback_params, headless_tokens

MISSING_ROLE = "the TPP does not hold the card-issuer role (PSP_IC) required for funds confirmations"


def _without_the_role(client) -> None:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["tpps"][0]["roles"] = ["PSP_AI"]
    assert client.put("/__admin/scenario", data=yaml.safe_dump(document), content_type="application/yaml").status_code == 200


def test_a_tpp_without_the_card_issuer_role_keeps_its_tokens_but_not_the_journey_nor_the_api(client, tpp):
    tokens = headless_tokens(tpp, "bruno")
    _without_the_role(client)
    params = callback_params(tpp.start(login_hint="bruno"))
    assert params == {"error": "unauthorized_client", "error_description": MISSING_ROLE, "state": "state-123"}
    assert_error_model(tpp.confirm(tokens["access_token"]), 403, names=MISSING_ROLE)
    refreshed = tpp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()  # /token asks no role
