"""The funds-availability decision (portal, "Use and check funds availability").

The bank says whether the account's available balance plus its authorised
overdraft covers the amount, in the account's currency. Nothing is debited or
blocked: the decision reads the account and changes nothing.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Mapping, Optional

from .scenario import ELIGIBLE_SEGMENTS, Account


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
