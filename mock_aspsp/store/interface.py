"""The store's interface: what the sandbox asks of its state, whichever backend keeps it.

``sqlite.SqliteStore`` and ``redis.RedisStore`` both satisfy ``Store``
(``tests/unit/test_shared_store.py`` checks it, signature by signature), and
everything above the store is written against it. Every method may raise
``records.StoreUnavailable``: the state cannot be reached or written (a 503).

A rule that must hold under concurrency (a code redeemed once, one live pair
per PSU / TPP at a bank, counters that lose no call) holds in the store
itself, atomically, never as a read followed by a separate write.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterator, Optional, Protocol, runtime_checkable

from .records import CodeRecord, Grant, PsuAttempt, PsuSession, ReplacedAccessToken, SyncState


@runtime_checkable  # isinstance checks the attributes too
class Store(Protocol):
    journal_limit: int  # the journal keeps this many last entries (the scenario's ``journal_size``)

    # -- shared settings: clock, scenario, reset --------------------------------------------------
    def sync_state(self) -> SyncState:
        """Read first on every request: the clock offset, the scenario version, the runtime fault rules."""

    def set_clock_offset(self, offset: timedelta) -> None: ...

    def advance_clock(self, delta: timedelta, check: Callable[[timedelta], timedelta]) -> timedelta:
        """Add ``delta`` to the offset atomically; ``check`` may refuse the result by raising (nothing changes)."""

    def put_scenario(self, source: str, text: str) -> int:
        """Store a new, already validated scenario (its fault rules' counters start again); returns its version."""

    def get_scenario(self) -> tuple[int, str, str]:
        """(version, source, text) of the current scenario; version 0: none stored."""

    def reset(self) -> None:
        """Back to the scenario's initial state: no tokens, journeys, changes or journal; real time."""

    # -- SCA journeys -----------------------------------------------------------------------------
    def put_journey(self, journey_id: str, data: dict) -> None: ...

    def update_journey(self, journey_id: str, expected: dict, data: dict) -> bool:
        """Move a journey on only if it is still as ``expected`` (as read); False when another request did."""

    def get_journey(self, journey_id: str) -> Optional[dict]: ...

    # -- authorization codes ----------------------------------------------------------------------
    def put_code(self, code: str, data: dict, expires_at: datetime) -> None: ...

    def code(self, code: str) -> Optional[CodeRecord]: ...

    def redeem_code(self, code: str, now: datetime) -> bool:
        """Mark a code used: True for exactly one caller however many race; a later call marks it replayed."""

    def revoke_code_grant(self, code: str, now: datetime) -> list[str]:
        """A replayed code: revoke the pair it produced (RFC 6749 §4.1.2); returns the revoked ids."""

    # -- token pairs ------------------------------------------------------------------------------
    def issue_grant(self, grant: Grant, now: datetime, code: Optional[str] = None) -> list[str]:
        """Store a new pair, revoking the live pair of the same PSU / TPP at that bank (``REPLACED_BY_CONSENT``;
        and the new one if its ``code`` was replayed meanwhile); returns the ids of the pairs it revoked."""

    def grant_by_access_token(self, token: str) -> Optional[Grant]: ...

    def grant_by_refresh_token(self, token: str) -> Optional[Grant]: ...

    def grant(self, grant_id: str) -> Optional[Grant]: ...

    def replaced_access_token(self, token: str) -> Optional[ReplacedAccessToken]:
        """The pair of an access token a refresh replaced (``records.REPLACED_BY_REFRESH``), or None."""

    def replace_access_token(self, grant_id: str, access_token: str, expires_at: datetime, now: datetime) -> bool:
        """Give a live pair a new access token; the old one is kept as replaced at ``now``. False when the pair
        is revoked."""

    def revoke_grants(self, now: datetime, reason: str, *, grant_id: Optional[str] = None, bank: Optional[str] = None,
                      psu: Optional[str] = None, client_id: Optional[str] = None) -> list[str]:
        """Revoke every live pair matching all given criteria; returns their ids."""

    def grants(self) -> Iterator[Grant]:
        """Every stored pair, oldest first."""

    # -- PSU lock-out (``records.count_attempt``) -------------------------------------------------
    def psu_attempt(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> PsuAttempt:
        """Count one password or one-time code attempt of a login, before it is checked."""

    def psu_attempt_passed(self, bank: str, login: str) -> None:
        """The attempt counted by ``psu_attempt`` was a right password: it is not a failure."""

    def clear_psu_failures(self, bank: str, login: str) -> None:
        """A complete strong authentication, or the bank unlocks the login: the count starts again."""

    def lock_psu(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> None: ...

    def psu_failures(self, bank: str, login: str, now: datetime) -> tuple[int, Optional[datetime]]:
        """(failures still counted, until when) of a login."""

    # -- the PSU's sessions on the access dashboard, kept under the hash of their cookie ----------
    def put_psu_session(self, cookie: str, session: PsuSession) -> None: ...

    def psu_session(self, cookie: str) -> Optional[PsuSession]:
        """The session behind a cookie, expired or not (the caller's clock decides), or None."""

    def end_psu_session(self, cookie: str) -> None: ...

    # -- runtime account and TPP registry changes, revoked certificates ---------------------------
    def patch_account(self, bank: str, iban: str, changes: dict) -> dict:
        """Merge changes (balance, overdraft, status) into earlier ones; returns the merged set."""

    def account_changes(self, bank: str, iban: str) -> dict: ...

    def patch_tpp(self, client_id: str, changes: dict) -> dict:
        """Merge registry changes (status, denied) into earlier ones; returns the merged set."""

    def tpp_changes(self, client_id: str) -> dict: ...

    def revoke_certificate(self, sha256: str, now: datetime) -> None: ...

    def revoked_certificates(self) -> frozenset[str]: ...

    # -- the registration API: registered clients and their registration tokens -----------------
    def put_registration(self, client_id: str, data: dict) -> None:
        """Store (or replace) a client registered through ``/stet/setting/v1/register``."""

    def registration(self, client_id: str) -> Optional[dict]: ...

    def registrations(self) -> list[dict]:
        """Every registration, in the order they were first stored."""

    def delete_registration(self, client_id: str) -> bool:
        """Remove a registration; False when there was none."""

    def put_registration_token(self, token: str, organization: str, expires_at: datetime) -> None:
        """A ``manageRegistration`` access token (kept as its hash), bound to the QWAC's organization."""

    def registration_token(self, token: str) -> Optional[tuple[str, datetime]]:
        """(organization, expires_at) of a registration token; None if unknown."""

    # -- request journal --------------------------------------------------------------------------
    def record(self, entry: dict) -> None:
        """Append to the journal; only the last ``journal_limit`` entries are kept."""

    def journal(self) -> list[dict]:
        """The kept entries, oldest first."""

    def clear_journal(self) -> None: ...

    # -- conformance plans (``conformance.plans``): the active modules a TPP's next calls meet ------
    def put_plan(self, client_id: str, plan: dict) -> None:
        """Start (or replace) the plan of a TPP."""

    def plan(self, client_id: str) -> Optional[dict]: ...

    def update_plan(self, client_id: str, expected: dict, plan: dict) -> bool:
        """Move a plan on only if it is still as ``expected`` (as read): a module fires once across workers."""

    # -- fault rules added at run time, and every rule's counters ---------------------------------
    def add_rule(self, rule: dict) -> None: ...

    def remove_rule(self, name: str) -> bool:
        """Remove the rule of that name added at run time, and its counters; False when there is none."""

    def clear_rules(self) -> None:
        """Remove the rules added at run time and zero every counter."""

    def rule_counters(self) -> dict[str, tuple[int, int]]:
        """(calls matched, times fired) by rule name."""

    def rule_fires(self, name: str, decide: Callable[[int, int], bool]) -> bool:
        """Count one matching call and decide, atomically, whether the rule fires on it (``decide(matched, fired)``)."""
