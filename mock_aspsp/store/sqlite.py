"""The embedded default store: one SQLite file in WAL mode, shared by every worker of a server.

The request journal is kept beside the state, in the folder ``<db>.journal``
(``journal_files``): the journal is written on every request, and a write to
the state file would make every other worker drop its page cache and the
look-ups cached below. Those look-ups (shared settings, the pair behind an
access token, runtime account and TPP changes, revoked certificates) are
answered from a per-connection cache, valid while the shared change counter
(``generation``, ``<db>.generation``, advanced after every commit) has not moved;
``sync_state`` checks it, once per request, and this connection's own writes
clear the cache.

An access token a refresh replaced is a row of ``replaced_access_tokens``
naming its pair and when (``records``: every dead token keeps why it died).

Rules that must hold under concurrency (a code is redeemed once, one pair per
PSU / TPP) are written as single conditional statements or ``BEGIN
IMMEDIATE`` transactions, never as a read followed by a write.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Callable, Iterator, Optional

from .generation import Generation
from .journal_files import JournalFiles
from .records import (GRANT_COLUMNS, GRANT_TIMES, REPLACED_BY_CONSENT, REVOKED_CODE_REPLAYED, CodeRecord, Grant,
                      PsuAttempt, PsuSession, ReplacedAccessToken, StoreUnavailable, SyncState, count_attempt, instant,
                      login_hash, session_from_text, session_text, timestamp, token_hash)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journeys (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conformance_plans (client_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL,
    redeemed_at REAL, replayed_at REAL, grant_id TEXT);
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY, bank TEXT NOT NULL, psu TEXT NOT NULL, client_id TEXT NOT NULL,
    scope TEXT NOT NULL, iban TEXT NOT NULL, authenticated_at REAL NOT NULL,
    issued_at REAL NOT NULL, access_hash TEXT NOT NULL, access_expires_at REAL NOT NULL,
    refresh_hash TEXT NOT NULL, refresh_expires_at REAL NOT NULL,
    revoked_at REAL, revoked_reason TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS grants_access ON grants (access_hash);
CREATE UNIQUE INDEX IF NOT EXISTS grants_refresh ON grants (refresh_hash);
CREATE INDEX IF NOT EXISTS grants_triplet ON grants (bank, psu, client_id) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS replaced_access_tokens (
    access_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, replaced_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    bank TEXT NOT NULL, iban TEXT NOT NULL, changes TEXT NOT NULL, PRIMARY KEY (bank, iban));
CREATE TABLE IF NOT EXISTS tpps (client_id TEXT PRIMARY KEY, changes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_certificates (sha256 TEXT PRIMARY KEY, revoked_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rule_counters (
    name TEXT PRIMARY KEY, matched INTEGER NOT NULL, fired INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS psu_failures (
    bank TEXT NOT NULL, login_hash TEXT NOT NULL, failures INTEGER NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (bank, login_hash));
CREATE INDEX IF NOT EXISTS psu_failures_until ON psu_failures (until);
CREATE TABLE IF NOT EXISTS registrations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registration_tokens (
    token_hash TEXT PRIMARY KEY, organization TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS psu_sessions (cookie_hash TEXT PRIMARY KEY, data TEXT NOT NULL);
"""
JOURNAL_SUFFIX = ".journal"
GENERATION_SUFFIX = ".generation"
VIEW_LIMIT = 10_000  # cached look-ups per connection before the cache starts over (a bound on memory)

# Tables emptied by a reset (and the journal, in its own folder); ``meta`` keeps the current scenario.
STATE_TABLES = ("journeys", "codes", "grants", "replaced_access_tokens", "accounts", "rule_counters", "tpps",
                "revoked_certificates", "psu_failures", "registrations", "registration_tokens",
                "conformance_plans", "psu_sessions")


_GRANT_SELECT = f"SELECT {', '.join(GRANT_COLUMNS)} FROM grants"
_GRANT_CONVERTERS = [(instant if k in GRANT_TIMES else None) for k in GRANT_COLUMNS]


def _grant_from_row(row: sqlite3.Row) -> Grant:
    """A row of ``_GRANT_SELECT``, by position."""
    return Grant(*[(convert(value) if convert else value) for convert, value in zip(_GRANT_CONVERTERS, row)])


class _JournalErrors:
    """``with``: the journal files, their OS errors (a full disk, a folder removed) as StoreUnavailable.
    A class, not a generator: it wraps the write of every request."""

    def __init__(self, journal: JournalFiles):
        self.journal = journal

    def __enter__(self) -> JournalFiles:
        return self.journal

    def __exit__(self, exc_type, error, tb) -> None:
        if isinstance(error, OSError):
            raise StoreUnavailable(f"request journal {self.journal.folder}: {error}") from error


class SqliteStore:
    """The embedded default store: one SQLite file shared by all workers."""

    def __init__(self, path: str, journal_limit: int = 10_000):
        self.path = path
        self.journal_limit = journal_limit
        self._local = threading.local()
        try:
            self._db().executescript(SCHEMA)  # executescript manages its own transaction
            self._generation = Generation(path + GENERATION_SUFFIX)
        except (sqlite3.OperationalError, OSError) as error:  # no room, or a file that cannot be written
            raise StoreUnavailable(f"state file {path}: {error}") from error
        self._journal = JournalFiles(path + JOURNAL_SUFFIX)

    # -- plumbing -------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """One connection per process and thread (SQLite handles must not cross a fork), with its cache."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            local.db, local.pid = db, os.getpid()
            local.generation, local.view = None, {}
        return local.db

    class _Tx:
        """``with``: one write transaction. SQLite's own failures (a full disk, a file that cannot be written
        or stays locked) become StoreUnavailable, the documented 503, and leave no transaction open, so
        the next request works as soon as there is room again."""

        def __init__(self, db: sqlite3.Connection, local: threading.local, generation: Generation):
            self.db, self.local, self.generation = db, local, generation

        def __enter__(self) -> sqlite3.Connection:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StoreUnavailable(f"state file: {error}") from error
            return self.db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                if exc_type is None:
                    self.db.execute("COMMIT")
                    self.generation.advance()  # every other connection's cached look-ups are out of date
                    return
                self.db.execute("ROLLBACK")
            except sqlite3.OperationalError as error:
                if self.db.in_transaction:  # COMMIT itself failed (the disk filled at the last moment)
                    self.db.execute("ROLLBACK")
                raise StoreUnavailable(f"state file: {error}") from error
            finally:
                self.local.view = {}  # including this connection's own
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreUnavailable(f"state file: {exc}") from exc

    def _tx(self) -> "SqliteStore._Tx":
        try:
            return self._Tx(self._db(), self._local, self._generation)
        except sqlite3.Error as error:
            raise StoreUnavailable(str(error)) from error

    def _cached(self, key: tuple, load: Callable[[], object]):
        """A look-up answered as of this connection's last ``sync_state`` (or its own later writes)."""
        self._db()
        view = self._local.view
        try:
            return view[key]
        except KeyError:
            if len(view) >= VIEW_LIMIT:
                view.clear()
            value = view[key] = load()
            return value

    def _get_meta(self, db: sqlite3.Connection, key: str) -> Optional[str]:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- shared settings ------------------------------------------------
    def sync_state(self) -> SyncState:
        """Read first on every request; also where the cached look-ups catch up with other connections."""
        self._db()
        local = self._local
        version = self._generation.value()  # no SQLite call: see ``generation``
        if version != local.generation:
            local.generation, local.view = version, {}
        return self._cached(("sync",), self._read_sync_state)

    def _read_sync_state(self) -> SyncState:
        rows = dict(
            self._db().execute(
                "SELECT key, value FROM meta WHERE key IN ('clock_offset', 'scenario_version', 'rules')"
            ).fetchall()
        )
        plans = self._db().execute("SELECT EXISTS (SELECT 1 FROM conformance_plans)").fetchone()[0]
        return SyncState(
            clock_offset=timedelta(seconds=float(rows.get("clock_offset", 0))),
            scenario_version=int(rows.get("scenario_version", 0)),
            runtime_rules=rows.get("rules", "[]"),
            conformance_plans=bool(plans),
        )

    def set_clock_offset(self, offset: timedelta) -> None:
        with self._tx() as db:
            self._set_meta(db, "clock_offset", repr(offset.total_seconds()))

    def advance_clock(self, delta: timedelta, check: Callable[[timedelta], timedelta]) -> timedelta:
        """Add ``delta`` to the offset atomically (two concurrent advances both count); ``check`` may
        refuse the result by raising, and then nothing changes."""
        with self._tx() as db:
            current = timedelta(seconds=float(self._get_meta(db, "clock_offset") or 0))
            offset = check(current + delta)
            self._set_meta(db, "clock_offset", repr(offset.total_seconds()))
            return offset

    def put_scenario(self, source: str, text: str) -> int:
        """Store a new, already validated scenario; returns its version."""
        with self._tx() as db:
            version = int(self._get_meta(db, "scenario_version") or 0) + 1
            self._set_meta(db, "scenario_version", str(version))
            self._set_meta(db, "scenario", json.dumps({"source": source, "text": text}))
            db.execute("DELETE FROM rule_counters")
        return version

    def get_scenario(self) -> tuple[int, str, str]:
        """(version, source, text) of the current scenario."""
        db = self._db()
        data = json.loads(self._get_meta(db, "scenario") or '{"source": "", "text": ""}')
        return int(self._get_meta(db, "scenario_version") or 0), data["source"], data["text"]

    def reset(self) -> None:
        """Back to the scenario's initial state: no tokens, journeys, changes or journal; real time."""
        with self._tx() as db:
            for table in STATE_TABLES:
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM meta WHERE key IN ('clock_offset', 'rules')")
        self.clear_journal()

    # -- SCA journeys ---------------------------------------------------
    def put_journey(self, journey_id: str, data: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO journeys (id, data) VALUES (?, ?)", (journey_id, json.dumps(data)))

    def update_journey(self, journey_id: str, expected: dict, data: dict) -> bool:
        """Move a journey on only if it is still as ``expected`` (as read): False when another request
        (a double submit, a parallel guess of the one-time code) changed it in between."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE journeys SET data = ? WHERE id = ? AND data = ?",
                (json.dumps(data), journey_id, json.dumps(expected)),
            )
            return cursor.rowcount == 1

    def get_journey(self, journey_id: str) -> Optional[dict]:
        row = self._db().execute("SELECT data FROM journeys WHERE id = ?", (journey_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    # -- conformance plans ----------------------------------------------
    def put_plan(self, client_id: str, plan: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO conformance_plans (client_id, data) VALUES (?, ?)",
                       (client_id, json.dumps(plan)))

    def plan(self, client_id: str) -> Optional[dict]:
        row = self._db().execute("SELECT data FROM conformance_plans WHERE client_id = ?", (client_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def update_plan(self, client_id: str, expected: dict, plan: dict) -> bool:
        with self._tx() as db:
            cursor = db.execute("UPDATE conformance_plans SET data = ? WHERE client_id = ? AND data = ?",
                                (json.dumps(plan), client_id, json.dumps(expected)))
            return cursor.rowcount == 1

    # -- authorization codes --------------------------------------------
    def put_code(self, code: str, data: dict, expires_at: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO codes (code_hash, data, expires_at) VALUES (?, ?, ?)",
                (token_hash(code), json.dumps(data), timestamp(expires_at)),
            )

    def code(self, code: str) -> Optional[CodeRecord]:
        row = self._db().execute(
            "SELECT data, expires_at, redeemed_at FROM codes WHERE code_hash = ?", (token_hash(code),)
        ).fetchone()
        if row is None:
            return None
        return CodeRecord(json.loads(row["data"]), instant(row["expires_at"]), row["redeemed_at"] is not None)

    def redeem_code(self, code: str, now: datetime) -> bool:
        """Mark a code used; True for exactly one caller however many race."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE codes SET redeemed_at = ? WHERE code_hash = ? AND redeemed_at IS NULL",
                (timestamp(now), token_hash(code)),
            )
            if cursor.rowcount == 1:
                return True
            db.execute("UPDATE codes SET replayed_at = ? WHERE code_hash = ?", (timestamp(now), token_hash(code)))
            return False

    def revoke_code_grant(self, code: str, now: datetime) -> list[str]:
        """A replayed code: revoke the pair it produced (RFC 6749 §4.1.2)."""
        row = self._db().execute("SELECT grant_id FROM codes WHERE code_hash = ?", (token_hash(code),)).fetchone()
        if row is None or row[0] is None:
            return []
        return self.revoke_grants(now, REVOKED_CODE_REPLAYED, grant_id=row[0])

    # -- token pairs ----------------------------------------------------
    def issue_grant(self, grant: Grant, now: datetime, code: Optional[str] = None) -> list[str]:
        """Store a new pair, revoking any live pair of the same PSU / TPP at that bank
        (``REPLACED_BY_CONSENT``). Returns the ids of the pairs it revoked.
        """
        with self._tx() as db:
            replaced = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM grants WHERE bank = ? AND psu = ? AND client_id = ? AND revoked_at IS NULL",
                    (grant.bank, grant.psu, grant.client_id),
                )
            ]
            db.executemany(
                "UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                [(timestamp(now), REPLACED_BY_CONSENT, gid) for gid in replaced],
            )
            values = [(timestamp(v) if k in GRANT_TIMES and v is not None else v) for k, v in asdict(grant).items()]
            db.execute(
                f"INSERT INTO grants ({', '.join(GRANT_COLUMNS)}) VALUES ({', '.join('?' * len(values))})",
                values,
            )
            if code is not None:
                db.execute("UPDATE codes SET grant_id = ? WHERE code_hash = ?", (grant.id, token_hash(code)))
                # A replay that raced this exchange came before the pair existed: revoke it now.
                db.execute(
                    "UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND EXISTS "
                    "(SELECT 1 FROM codes WHERE code_hash = ? AND replayed_at IS NOT NULL)",
                    (timestamp(now), REVOKED_CODE_REPLAYED, grant.id, token_hash(code)),
                )
            return replaced

    def _grant_where(self, column: str, value: str) -> Optional[Grant]:
        row = self._db().execute(f"{_GRANT_SELECT} WHERE {column} = ?", (value,)).fetchone()
        return None if row is None else _grant_from_row(row)

    def grant_by_access_token(self, token: str) -> Optional[Grant]:
        digest = token_hash(token)
        return self._cached(("access", digest), lambda: self._grant_where("access_hash", digest))

    def grant_by_refresh_token(self, token: str) -> Optional[Grant]:
        return self._grant_where("refresh_hash", token_hash(token))

    def grant(self, grant_id: str) -> Optional[Grant]:
        return self._grant_where("id", grant_id)

    def replaced_access_token(self, token: str) -> Optional[ReplacedAccessToken]:
        """The pair of an access token a refresh replaced (``REPLACED_BY_REFRESH``), or None."""
        digest = token_hash(token)
        return self._cached(("replaced", digest), lambda: self._replaced_where(digest))

    def _replaced_where(self, digest: str) -> Optional[ReplacedAccessToken]:
        row = self._db().execute(
            "SELECT grant_id, replaced_at FROM replaced_access_tokens WHERE access_hash = ?", (digest,)).fetchone()
        grant = None if row is None else self.grant(row[0])
        return None if grant is None else ReplacedAccessToken(grant, instant(row[1]))

    def replace_access_token(self, grant_id: str, access_token: str, expires_at: datetime, now: datetime) -> bool:
        """Give a live pair a new access token; the old one is kept as replaced at ``now``."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO replaced_access_tokens (access_hash, grant_id, replaced_at) "
                "SELECT access_hash, id, ? FROM grants WHERE id = ? AND revoked_at IS NULL",
                (timestamp(now), grant_id),
            )
            cursor = db.execute(
                "UPDATE grants SET access_hash = ?, access_expires_at = ? WHERE id = ? AND revoked_at IS NULL",
                (token_hash(access_token), timestamp(expires_at), grant_id),
            )
            return cursor.rowcount == 1

    def revoke_grants(
        self,
        now: datetime,
        reason: str,
        *,
        grant_id: Optional[str] = None,
        bank: Optional[str] = None,
        psu: Optional[str] = None,
        client_id: Optional[str] = None,
    ) -> list[str]:
        """Revoke every live pair matching all given criteria; returns their ids."""
        criteria = {"id": grant_id, "bank": bank, "psu": psu, "client_id": client_id}
        where = " AND ".join([f"{k} = ?" for k, v in criteria.items() if v is not None] + ["revoked_at IS NULL"])
        params = [v for v in criteria.values() if v is not None]
        with self._tx() as db:
            ids = [r[0] for r in db.execute(f"SELECT id FROM grants WHERE {where}", params)]
            db.executemany(
                "UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                [(timestamp(now), reason, gid) for gid in ids],
            )
            return ids

    def grants(self) -> Iterator[Grant]:
        for row in self._db().execute(f"{_GRANT_SELECT} ORDER BY issued_at"):
            yield _grant_from_row(row)

    # -- PSU lock-out ---------------------------------------------------
    def psu_attempt(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> PsuAttempt:
        """Count one password or one-time code attempt of a login, before it is checked (``count_attempt``)."""
        key = (bank, login_hash(login))
        with self._tx() as db:
            db.execute("DELETE FROM psu_failures WHERE until <= ?", (timestamp(now),))  # forgotten failures go
            row = db.execute("SELECT failures, until FROM psu_failures WHERE bank = ? AND login_hash = ?",
                             key).fetchone()
            found, write = count_attempt(tuple(row) if row else None, now, attempts, duration)
            if write:
                db.execute("INSERT OR REPLACE INTO psu_failures (bank, login_hash, failures, until) VALUES (?, ?, ?, ?)",
                           (*key, *write))
            return found

    def psu_attempt_passed(self, bank: str, login: str) -> None:
        """The attempt counted by ``psu_attempt`` was a right password: it is not a failure."""
        with self._tx() as db:
            db.execute("UPDATE psu_failures SET failures = failures - 1 WHERE bank = ? AND login_hash = ?",
                       (bank, login_hash(login)))
            db.execute("DELETE FROM psu_failures WHERE failures <= 0")

    def clear_psu_failures(self, bank: str, login: str) -> None:
        """A complete strong authentication, or the bank unlocks the login: the count starts again."""
        with self._tx() as db:
            db.execute("DELETE FROM psu_failures WHERE bank = ? AND login_hash = ?", (bank, login_hash(login)))

    def lock_psu(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO psu_failures (bank, login_hash, failures, until) VALUES (?, ?, ?, ?)",
                       (bank, login_hash(login), attempts, timestamp(now + duration)))

    def psu_failures(self, bank: str, login: str, now: datetime) -> tuple[int, Optional[datetime]]:
        """(failures still counted, until when) of a login, as the admin API shows them."""
        row = self._db().execute("SELECT failures, until FROM psu_failures WHERE bank = ? AND login_hash = ?",
                                 (bank, login_hash(login))).fetchone()
        return (row[0], instant(row[1])) if row and row[1] > timestamp(now) else (0, None)

    # -- the PSU's dashboard sessions -----------------------------------
    def put_psu_session(self, cookie: str, session: PsuSession) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO psu_sessions (cookie_hash, data) VALUES (?, ?)",
                       (token_hash(cookie), session_text(session)))

    def psu_session(self, cookie: str) -> Optional[PsuSession]:
        row = self._db().execute("SELECT data FROM psu_sessions WHERE cookie_hash = ?",
                                 (token_hash(cookie),)).fetchone()
        return None if row is None else session_from_text(row[0])

    def end_psu_session(self, cookie: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM psu_sessions WHERE cookie_hash = ?", (token_hash(cookie),))

    # -- runtime account changes ----------------------------------------
    def patch_account(self, bank: str, iban: str, changes: dict) -> dict:
        """Merge changes (balance, overdraft, status) into earlier ones; returns the merged set."""
        with self._tx() as db:
            row = db.execute("SELECT changes FROM accounts WHERE bank = ? AND iban = ?", (bank, iban)).fetchone()
            merged = {**(json.loads(row[0]) if row else {}), **changes}
            db.execute(
                "INSERT OR REPLACE INTO accounts (bank, iban, changes) VALUES (?, ?, ?)",
                (bank, iban, json.dumps(merged)),
            )
            return merged

    def account_changes(self, bank: str, iban: str) -> dict:
        load = lambda: self._changes("accounts", "bank = ? AND iban = ?", bank, iban)  # noqa: E731
        return dict(self._cached(("account", bank, iban), load))  # a copy: callers may change theirs

    def _changes(self, table: str, where: str, *key: str) -> dict:
        row = self._db().execute(f"SELECT changes FROM {table} WHERE {where}", key).fetchone()
        return json.loads(row[0]) if row else {}

    # -- runtime TPP registry -------------------------------------------
    def patch_tpp(self, client_id: str, changes: dict) -> dict:
        """Merge registry changes (status, denied) into earlier ones; returns the merged set."""
        with self._tx() as db:
            row = db.execute("SELECT changes FROM tpps WHERE client_id = ?", (client_id,)).fetchone()
            merged = {**(json.loads(row[0]) if row else {}), **changes}
            db.execute("INSERT OR REPLACE INTO tpps (client_id, changes) VALUES (?, ?)", (client_id, json.dumps(merged)))
            return merged

    def tpp_changes(self, client_id: str) -> dict:
        return dict(self._cached(("tpp", client_id), lambda: self._changes("tpps", "client_id = ?", client_id)))

    def revoke_certificate(self, sha256: str, now: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO revoked_certificates (sha256, revoked_at) VALUES (?, ?)", (sha256, timestamp(now)))

    def revoked_certificates(self) -> frozenset[str]:
        return self._cached(("revoked",), lambda: frozenset(
            r[0] for r in self._db().execute("SELECT sha256 FROM revoked_certificates")))

    # -- the registration API -------------------------------------------
    def put_registration(self, client_id: str, data: dict) -> None:
        """Insert, or replace the data of, a registration (it keeps its place in the order)."""
        with self._tx() as db:
            db.execute("INSERT INTO registrations (client_id, data) VALUES (?, ?) "
                       "ON CONFLICT (client_id) DO UPDATE SET data = excluded.data", (client_id, json.dumps(data)))

    def registration(self, client_id: str) -> Optional[dict]:
        def load() -> Optional[str]:
            row = self._db().execute("SELECT data FROM registrations WHERE client_id = ?", (client_id,)).fetchone()
            return None if row is None else row[0]

        text = self._cached(("registration", client_id), load)  # on every API call of a registered client
        return None if text is None else json.loads(text)

    def registrations(self) -> list[dict]:
        return [json.loads(r[0]) for r in self._db().execute("SELECT data FROM registrations ORDER BY seq")]

    def delete_registration(self, client_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM registrations WHERE client_id = ?", (client_id,)).rowcount == 1

    def put_registration_token(self, token: str, organization: str, expires_at: datetime) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM registration_tokens WHERE expires_at < ?", (timestamp(expires_at) - 86400,))
            db.execute("INSERT INTO registration_tokens (token_hash, organization, expires_at) VALUES (?, ?, ?)",
                       (token_hash(token), organization, timestamp(expires_at)))

    def registration_token(self, token: str) -> Optional[tuple[str, datetime]]:
        row = self._db().execute("SELECT organization, expires_at FROM registration_tokens WHERE token_hash = ?",
                                 (token_hash(token),)).fetchone()
        return None if row is None else (row[0], instant(row[1]))

    # -- request journal ------------------------------------------------
    def record(self, entry: dict) -> None:
        """Append to the journal; only the last ``journal_limit`` entries are kept."""
        with self._journal_io() as journal:
            journal.append(entry, self.journal_limit)

    def journal(self) -> list[dict]:
        with self._journal_io() as journal:
            return journal.entries(self.journal_limit)

    def clear_journal(self) -> None:
        with self._journal_io() as journal:
            journal.clear()

    def _journal_io(self) -> "_JournalErrors":
        return _JournalErrors(self._journal)

    # -- fault rules ----------------------------------------------------
    def add_rule(self, rule: dict) -> None:
        with self._tx() as db:
            rules = json.loads(self._get_meta(db, "rules") or "[]")
            self._set_meta(db, "rules", json.dumps(rules + [rule]))

    def remove_rule(self, name: str) -> bool:
        with self._tx() as db:
            rules = json.loads(self._get_meta(db, "rules") or "[]")
            kept = [rule for rule in rules if rule.get("name") != name]
            if len(kept) == len(rules):
                return False
            self._set_meta(db, "rules", json.dumps(kept))
            db.execute("DELETE FROM rule_counters WHERE name = ?", (name,))
            return True

    def clear_rules(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM meta WHERE key = 'rules'")
            db.execute("DELETE FROM rule_counters")

    def rule_counters(self) -> dict[str, tuple[int, int]]:
        return {r[0]: (r[1], r[2]) for r in self._db().execute("SELECT name, matched, fired FROM rule_counters")}

    def rule_fires(self, name: str, decide: Callable[[int, int], bool]) -> bool:
        """Count one matching call and decide, atomically, whether the rule fires on it."""
        with self._tx() as db:
            row = db.execute("SELECT matched, fired FROM rule_counters WHERE name = ?", (name,)).fetchone()
            matched, fired = (row[0], row[1]) if row else (0, 0)
            matched += 1
            fire = decide(matched, fired)
            db.execute(
                "INSERT OR REPLACE INTO rule_counters (name, matched, fired) VALUES (?, ?, ?)",
                (name, matched, fired + fire),
            )
            return fire

