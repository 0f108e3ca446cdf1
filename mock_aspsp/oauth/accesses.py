"""What the PSU's access dashboard shows: every TPP that may check the PSU's funds, and its checks.

An access is a live token pair of the PSU at its bank (the store keeps one per
TPP): not revoked, its refresh token unexpired, and the PSU's strong
authentication younger than the re-authentication period, past which the TPP can
do nothing more without the PSU. Its checks come from the request journal, where
each answered funds check names the pair it used, the amount asked and the answer
(never the balance): they are counted over the entries the journal keeps
(``journal_size``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Optional

from ..bank.clock import parse_instant
from ..bank.scenario import Scenario
from ..store.records import Grant, pair_ref

LAST_CHECKS = 5  # the most recent checks listed with each access


@dataclass(frozen=True)
class FundsCheck:
    at: datetime
    amount: str
    currency: str
    result: bool


@dataclass(frozen=True)
class Access:
    grant_id: str
    ref: str  # ``records.pair_ref``: how the dashboard's links name the pair
    client_id: str
    tpp_name: str
    iban: str
    since: datetime  # the strong authentication the PSU consented with
    until: datetime  # when the TPP needs the PSU again (re-authentication, or the refresh token's end)
    checks: int
    last_checks: tuple[FundsCheck, ...]


def is_live(grant: Grant, scenario: Scenario, now: datetime) -> bool:
    return (grant.revoked_at is None and now < grant.refresh_expires_at
            and now - grant.authenticated_at < scenario.settings.tokens.reauthentication_after)


def psu_accesses(grants: Iterable[Grant], journal: list[dict], scenario: Scenario, now: datetime, bank: str,
                 psu: str, tpp_name: Callable[[str], Optional[str]]) -> list[Access]:
    """The PSU's live accesses at ``bank``, oldest first, each with its funds checks, newest first.
    ``tpp_name``: a client_id's name, the scenario's TPPs and registered clients alike (None: unknown)."""
    live = [g for g in grants if g.bank == bank and g.psu == psu and is_live(g, scenario, now)]
    checks: dict[str, list[FundsCheck]] = {pair_ref(g): [] for g in live}
    for entry in journal:
        check = entry.get("funds_check")
        if check and check.get("pair") in checks:
            checks[check["pair"]].append(
                FundsCheck(parse_instant(entry["time"]), check["amount"], check["currency"], check["result"]))
    return [_access(g, scenario, checks[pair_ref(g)][::-1], tpp_name(g.client_id) or g.client_id) for g in live]


def find_access(accesses: list[Access], ref: str) -> Optional[Access]:
    return next((a for a in accesses if a.ref == ref), None)


def _access(grant: Grant, scenario: Scenario, checks: list[FundsCheck], name: str) -> Access:
    until = min(grant.refresh_expires_at, grant.authenticated_at + scenario.settings.tokens.reauthentication_after)
    return Access(grant.id, pair_ref(grant), grant.client_id, name, grant.iban,
                  grant.authenticated_at, until, len(checks), tuple(checks[:LAST_CHECKS]))
