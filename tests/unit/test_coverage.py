"""The funds decision: balance plus overdraft in the account's currency; eligibility; runtime changes; the whole
check as the API asks it (consented, closed, the scenario's ineligible_accounts mode)."""
from dataclasses import replace
from decimal import Decimal

import pytest
import yaml

from mock_aspsp.bank.coverage import FundsRefused, covers, current_account, funds_available, ineligibility
from mock_aspsp.bank.scenario import Account, parse_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import PORTAL_IBAN as PORTAL

ACCOUNT = Account(
    iban="FR7630007000010001234560191",
    bank="30007",
    psu="alice",
    name="Compte",
    currency="EUR",
    balance=Decimal("120.50"),
    overdraft=Decimal("300"),
    status="active",
    segment="individual",
)


@pytest.mark.parametrize(
    "amount,expected",
    [("0.01", True), ("120.50", True), ("420.50", True), ("420.51", False), ("100000", False)],
)
def test_covers_counts_the_overdraft(amount, expected):
    assert covers(ACCOUNT, "EUR", Decimal(amount)) is expected


def test_negative_balance_is_covered_only_within_the_overdraft():
    overdrawn = replace(ACCOUNT, balance=Decimal("-250"), overdraft=Decimal("300"))
    assert covers(overdrawn, "EUR", Decimal("50"))
    assert not covers(overdrawn, "EUR", Decimal("50.01"))


def test_currency_mismatch_is_never_covered():
    assert not covers(ACCOUNT, "USD", Decimal("1"))
    assert not covers(replace(ACCOUNT, currency="USD"), "EUR", Decimal("1"))
    assert covers(replace(ACCOUNT, currency="USD"), "USD", Decimal("1"))


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({}, None),
        ({"segment": "professional"}, None),
        ({"status": "blocked"}, "the account is blocked"),
        ({"status": "custody"}, "the account is under custody"),
        ({"currency": "USD"}, "the account is held in USD; only euro accounts are eligible"),
        ({"segment": "corporate"}, "the corporate segment is not covered by this service"),
        ({"status": "blocked", "currency": "USD"}, "the account is blocked"),
    ],
)
def test_ineligibility_reasons(changes, reason):
    assert ineligibility(replace(ACCOUNT, **changes)) == reason


def test_current_account_without_changes_is_the_scenario_account():
    assert current_account(ACCOUNT, {}) is ACCOUNT


def test_current_account_applies_runtime_changes_as_decimals():
    changed = current_account(ACCOUNT, {"balance": "10", "overdraft": 5, "status": "blocked"})
    assert changed.balance == Decimal("10") and isinstance(changed.balance, Decimal)
    assert changed.overdraft == Decimal("5") and isinstance(changed.overdraft, Decimal)
    assert changed.status == "blocked"
    assert ACCOUNT.balance == Decimal("120.50")  # the scenario's account is untouched
    assert covers(changed, "EUR", Decimal("15")) and not covers(changed, "EUR", Decimal("15.01"))
    assert ineligibility(changed) == "the account is blocked"


def test_float_balance_change_keeps_exact_cents():
    changed = current_account(ACCOUNT, {"balance": 0.1, "overdraft": 0.2})
    assert covers(changed, "EUR", Decimal("0.3"))


# -- the whole funds check, as the API asks it -------------------------------------------------------
def _scenario(ineligible_accounts="error"):
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document.setdefault("settings", {})["ineligible_accounts"] = ineligible_accounts
    return parse_scenario(yaml.safe_dump(document), "test")


def _check(scenario, iban=PORTAL, consented=PORTAL, amount="100", changes=None, bank="30007"):
    return funds_available(scenario, bank, consented, iban, "EUR", Decimal(amount), lambda b, i: changes or {})


def test_the_funds_check_answers_for_the_consented_account_only():
    scenario = _scenario()
    assert _check(scenario) is True and _check(scenario, amount="20000.01") is False
    with pytest.raises(FundsRefused, match="the PSU did not consent to funds checks on this account"):
        _check(scenario, consented="FR7630007000020009876540145")
    with pytest.raises(FundsRefused, match="this account is closed at this bank"):
        _check(scenario, bank="13807")


def test_an_ineligible_account_is_refused_or_not_covered_as_the_scenario_says():
    with pytest.raises(FundsRefused, match="the account is blocked"):
        _check(_scenario("error"), changes={"status": "blocked"})
    assert _check(_scenario("false"), changes={"status": "blocked"}) is False
    assert _check(_scenario("false"), changes={"balance": "5"}, amount="5") is True
