"""Ineligible accounts (portal, "Functional limitations"), with the shipped scenarios.

Rule: in the "error" mode (settings.ineligible_accounts: error) a funds check on
a blocked, custody, non-euro or corporate account answers 403 with the STET
ErrorModel naming accountId.iban and the reason; in the "false" mode it answers
200 with result false, whatever the balance.
"""
from __future__ import annotations

import pytest

from support import (SCOPE_OF, STET_OF, assert_error_model, headless_tokens, portal_body, scenario_variant,
                     shipped_scenario)

VERSIONS = list(STET_OF)
JULES = "FR7630007000120000000030162"  # blocked-account: blocked
KARINE_CUSTODY = "FR7630007000120000000030259"
KARINE_ACTIVE = "FR7630007000130000000040138"
LOUIS = "FR7630007000140000000050114"  # non-euro-account: USD
MAUD_EUR = "FR7630007000150000000060187"
NADIA = "FR7630007000150000000060284"  # corporate-segment: corporate
OLIVIER = "FR7630007000130000000040235"  # corporate-segment: professional


def body(iban, amount="10", currency="EUR"):
    return portal_body(amount=amount, iban=iban) | {"instructedAmount": {"currency": currency, "amount": amount}}


@pytest.mark.parametrize("scenario_path", [shipped_scenario("blocked-account")])
@pytest.mark.parametrize("version", VERSIONS)
def test_blocked_account_is_403_in_error_mode(tpp, version):
    tokens = headless_tokens(tpp, "jules", scope=SCOPE_OF[version])
    response = tpp.confirm(tokens["access_token"], body(JULES), version=version)
    message = assert_error_model(response, 403, version, names="accountId.iban")["message"]
    assert "blocked" in message


@pytest.mark.parametrize("scenario_path", [shipped_scenario("blocked-account")])
def test_custody_account_chosen_on_the_consent_page_is_403(tpp):
    tokens = tpp.tokens(login="karine", password="karine-password", iban=KARINE_CUSTODY)
    assert "custody" in assert_error_model(tpp.confirm(tokens["access_token"], body(KARINE_CUSTODY)), 403)["message"]
    tokens = tpp.tokens(login="karine", password="karine-password", iban=KARINE_ACTIVE)
    assert tpp.confirm(tokens["access_token"], body(KARINE_ACTIVE)).get_json()["result"] is True


@pytest.mark.parametrize("scenario_path", [shipped_scenario("blocked-account")])
def test_consent_page_shows_the_status(tpp):
    location = tpp.start().headers["Location"]
    tpp.post_step(location, "identify", login="karine", password="karine-password", action="continue")
    tpp.post_step(location, "authenticate", otp="123456", action="continue")
    assert "sous tutelle" in tpp.page(location)[0].get_data(as_text=True)


@pytest.mark.parametrize("scenario_path", [shipped_scenario("non-euro-account")])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_non_euro_account_is_false_in_false_mode(tpp, version, currency):
    tokens = headless_tokens(tpp, "louis", scope=SCOPE_OF[version])
    response = tpp.confirm(tokens["access_token"], body(LOUIS, currency=currency), version=version)
    assert response.status_code == 200
    assert response.get_json()["result"] is False  # 10 is well within the 10000 USD balance


@pytest.mark.parametrize("scenario_path", [shipped_scenario("non-euro-account")])
def test_false_mode_leaves_eligible_accounts_alone(tpp):
    tokens = tpp.tokens(login="maud", password="maud-password", iban=MAUD_EUR)
    assert tpp.confirm(tokens["access_token"], body(MAUD_EUR)).get_json()["result"] is True


@pytest.mark.parametrize("scenario_path", [shipped_scenario("corporate-segment")])
@pytest.mark.parametrize("version", VERSIONS)
def test_corporate_segment_is_403_and_professional_is_served(tpp, version):
    scope = SCOPE_OF[version]
    nadia = headless_tokens(tpp, "nadia", scope=scope)
    message = assert_error_model(tpp.confirm(nadia["access_token"], body(NADIA), version=version), 403, version)[
        "message"]
    assert message.startswith("accountId.iban") and "corporate" in message
    olivier = headless_tokens(tpp, "olivier", scope=scope)
    assert tpp.confirm(olivier["access_token"], body(OLIVIER, "3000"), version=version).get_json()["result"] is True
    assert tpp.confirm(olivier["access_token"], body(OLIVIER, "3000.01"), version=version).get_json()["result"] is False


@pytest.fixture
def corporate_in_false_mode(tmp_path):
    def to_false(document):
        document["settings"]["ineligible_accounts"] = "false"
    return scenario_variant(tmp_path, "corporate-segment", to_false)


@pytest.fixture
def scenario_path(request):
    """Each test above picks its shipped scenario with parametrize; this one is for the variant below."""
    return request.getfixturevalue("corporate_in_false_mode")


def test_the_same_corporate_account_in_false_mode_is_200_false(tpp):
    nadia = headless_tokens(tpp, "nadia")
    response = tpp.confirm(nadia["access_token"], body(NADIA))
    assert response.status_code == 200 and response.get_json()["result"] is False
