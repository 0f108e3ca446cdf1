"""What both stores keep and hand back: the record types, and the rules they share.

Tokens, codes and logins are kept as SHA-256 hashes only (``token_hash``,
``login_hash``). Instants are stored as POSIX timestamps (``timestamp``) and read
back as UTC datetimes (``instant``), so expiry is decided by the mock's clock
from what is stored, whichever store keeps it.

Every dead token keeps the reason it died: a revoked pair its ``revoked_reason``
(one of the ``REPLACED_BY_*`` / ``REVOKED_*`` phrases below), an access token
a refresh replaced its pair and when (``ReplacedAccessToken``), so the API can
tell it from a token the bank never issued.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Optional


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_hash(login: str) -> str:
    """A login as the lock-out counts it: any text a PSU types, in a key of bounded size."""
    return token_hash(login)


def timestamp(instant: datetime) -> float:
    return instant.timestamp()


def instant(value: Optional[float]) -> Optional[datetime]:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


# Why a token died, as ``revoked_reason`` stores it; the API and /token say "access token <reason>".
REPLACED_BY_REFRESH = "replaced by a refresh"  # an access token alone: its pair lives on with the new one
REPLACED_BY_CONSENT = "replaced by a new consent"  # one live pair per PSU / TPP / bank
REVOKED_BY_TPP = "revoked by the TPP"
REVOKED_BY_PSU = "revoked by the PSU"
REVOKED_BY_BANK = "revoked by the bank"
REVOKED_CODE_REPLAYED = "revoked: its authorization code was replayed"
# A registered client removed (registration API or admin API): its tokens go with its client_id.
REMOVED_WITH_REGISTRATION_BY_TPP = "revoked with its registration, removed by the TPP"
REMOVED_WITH_REGISTRATION_BY_BANK = "revoked with its registration, removed by the bank"


@dataclass(frozen=True)
class Grant:
    """One (access token, refresh token) pair and the consent behind it."""

    id: str
    bank: str
    psu: str
    client_id: str
    scope: str
    iban: str
    authenticated_at: datetime
    issued_at: datetime
    access_hash: str
    access_expires_at: datetime
    refresh_hash: str
    refresh_expires_at: datetime
    revoked_at: Optional[datetime] = None
    revoked_reason: Optional[str] = None


def pair_ref(grant: Grant) -> str:
    """How the admin API, the journal and the PSU's dashboard name a pair: the start of its id."""
    return grant.id[:12]


GRANT_COLUMNS = [f.name for f in fields(Grant)]  # a grant's fields in order: SQLite's columns, Redis's hash
GRANT_TIMES = {"authenticated_at", "issued_at", "access_expires_at", "refresh_expires_at", "revoked_at"}


@dataclass(frozen=True)
class ReplacedAccessToken:
    """An access token that a refresh replaced: the pair it belonged to, and when it was replaced."""

    grant: Grant
    replaced_at: datetime


@dataclass(frozen=True)
class CodeRecord:
    """An authorization code as stored: what it grants and whether it was used."""

    data: dict
    expires_at: datetime
    redeemed: bool


@dataclass(frozen=True)
class PsuSession:
    """A PSU signed in to the bank's access dashboard (``/espace-client/acces``): who, at which bank, the
    secret its forms carry, and until when (on the mock's clock)."""

    bank: str
    psu: str
    csrf: str
    expires_at: datetime


def session_text(session: PsuSession) -> str:
    """A session as both stores keep it (JSON, the instant as a timestamp)."""
    return json.dumps({"bank": session.bank, "psu": session.psu, "csrf": session.csrf,
                       "expires_at": timestamp(session.expires_at)})


def session_from_text(text: str) -> PsuSession:
    data = json.loads(text)
    return PsuSession(data["bank"], data["psu"], data["csrf"], instant(data["expires_at"]))


@dataclass(frozen=True)
class SyncState:
    """What each request needs from shared state before anything else."""

    clock_offset: timedelta
    scenario_version: int
    runtime_rules: str = "[]"  # fault rules added through the admin API, as JSON text
    conformance_plans: bool = False  # any TPP's plan stored: without one, no request looks a plan up


@dataclass(frozen=True)
class PsuAttempt:
    """A login's authentication failures as one attempt found them: ``failures`` counted (this attempt
    included, when it may go on), or ``locked_until`` when the login is locked and it may not."""

    failures: int
    locked_until: Optional[datetime] = None


def count_attempt(row: Optional[tuple[int, float]], now: datetime, attempts: int, duration: timedelta
                  ) -> tuple[PsuAttempt, Optional[tuple[int, float]]]:
    """The lock-out rule, for both stores: (what the attempt finds, the row to write or None).

    ``row`` is (failures, until): ``until`` is the last counted failure plus ``duration``; past it the
    failures are forgotten. ``attempts`` failures lock the login until then; a locked login's attempts
    are not counted (the lock does not grow), and an attempt is counted before its password or code is
    checked, so parallel guesses cannot get more checks than ``attempts``."""
    failures, until = row if row and row[1] > now.timestamp() else (0, 0.0)
    if failures >= attempts:
        return PsuAttempt(failures, instant(until)), None
    failures += 1
    return PsuAttempt(failures), (failures, timestamp(now + duration))


def locked_until(failures: int, until: Optional[datetime], attempts: int) -> Optional[datetime]:
    """When a login's lock ends, from its failures as ``psu_failures`` reads them; None if it is not locked."""
    return until if until is not None and failures >= attempts else None


class StoreUnavailable(Exception):
    """The state backend cannot be reached; the API answers 503."""
