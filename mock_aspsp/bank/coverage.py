"""The bank's rules for a funds check (portal, "Use and check funds availability"), in one place.

The bank answers for the account the PSU consented to, if it still exists at
that bank, and only for eligible accounts (portal, "Functional limitations"):
euro accounts, not blocked nor under custody, of individuals or professionals.
Then it says whether the account's available balance plus its authorised
overdraft covers the amount, in the account's currency. Nothing is debited or
blocked: the decision reads the account and changes nothing. The HTTP view
(``stet.funds``) only translates a refusal into the API's error.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Callable, Mapping, Optional

from .scenario import Account, Scenario

ACCOUNT_STATUSES = ("active", "blocked", "custody")  # what the admin API may set at run time
ELIGIBLE_SEGMENTS = ("individual", "professional")


class FundsRefused(Exception):
    """The bank does not answer this funds check; ``reason`` says what about the account (a 403)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def funds_available(scenario: Scenario, bank: str, consented_iban: str, iban: str, currency: str, amount: Decimal,
                    account_changes: Callable[[str, str], Mapping[str, object]]) -> bool:
    """The bank's answer to a funds check on ``iban`` at ``bank``, by a TPP whose consent is for
    ``consented_iban``; ``account_changes``: the runtime changes of an account (``Store.account_changes``).
    Raises FundsRefused when the bank does not answer: an account not consented, closed, or ineligible
    in the scenario's ``ineligible_accounts: error`` mode (in the ``"false"`` mode it is not covered)."""
    if iban != consented_iban:
        raise FundsRefused("the PSU did not consent to funds checks on this account")
    account = scenario.account(bank, iban)
    if account is None:
        raise FundsRefused("this account is closed at this bank")
    account = current_account(account, account_changes(bank, iban))
    reason = ineligibility(account)
    if reason is None:
        return covers(account, currency, amount)
    if scenario.settings.ineligible_accounts == "error":
        raise FundsRefused(reason)
    return False


def current_account(account: Account, changes: Mapping[str, object]) -> Account:
    """The scenario's account with the runtime changes (admin PATCH) applied."""
    if not changes:
        return account
    return replace(
        account,
        **{k: (Decimal(str(v)) if k in ("balance", "overdraft") else v) for k, v in changes.items()},
    )


def ineligibility(account: Account) -> Optional[str]:
    """Why the service does not apply to this account (portal, "Functional limitations"), or None."""
    if account.status == "blocked":
        return "the account is blocked"
    if account.status == "custody":
        return "the account is under custody"
    if account.currency != "EUR":
        return f"the account is held in {account.currency}; only euro accounts are eligible"
    if account.segment not in ELIGIBLE_SEGMENTS:
        return f"the {account.segment} segment is not covered by this service"
    return None


def covers(account: Account, currency: str, amount: Decimal) -> bool:
    """True when the funds available on the account cover the amount in its currency."""
    return currency == account.currency and amount <= account.balance + account.overdraft
