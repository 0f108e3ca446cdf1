"""The store on Redis, for several replicas of the sandbox behind a load balancer.

Same interface (``interface.Store``) and same behaviour as ``sqlite.SqliteStore``; what changes is
where the state lives, so a token issued by one replica works on any other, a
code stays single use across all of them, and an admin change (clock,
scenario, account, TPP registry, revocation) reaches all of them on their next
request.

How the rules hold on Redis:

* Every rule that must hold under concurrency is one Lua script (run
  atomically by Redis) or a ``WATCH``/``MULTI`` transaction, never a read
  followed by a separate write: code redemption (and the replay marking),
  issuing a pair (revoking the live pair of the same bank / PSU / TPP, and the
  pair of a replayed code), giving a live pair a new access token (and keeping
  the replaced one, so that it is told apart from a token never issued), revocation,
  fault-rule counters (the decision is Python, so ``WATCH`` and retry), account
  and TPP changes (a hash per account: ``HSET`` merges), reset.
* Expiry is decided by the mock's clock, from the instants stored with each
  record, exactly as with SQLite: moving the clock works. Redis TTLs only clean
  up, a day after a record could last be useful in real time.
* Codes and tokens are stored as SHA-256 hashes (``records.token_hash``).
* The journal is a capped list (``LPUSH`` + ``LTRIM``): the oldest entries go.
* Every key starts with a prefix (default ``mock-aspsp:``, or ``?prefix=`` in
  the URL) so several sandboxes can share one Redis; ``reset`` deletes only
  this sandbox's state keys and keeps its scenario.
* Redis unreachable (refused, timed out, loading) raises ``StoreUnavailable``,
  which every audience gets as a 503; the client reconnects by itself on the
  next request once Redis is back. Commands are not retried: a write whose
  answer was lost must not be applied twice (a code redeemed twice would fail
  the one exchange that should succeed).

One Redis server or a primary (with Sentinel in front, say) is expected; Redis
Cluster is not supported (the scripts touch keys they compute).
"""
from __future__ import annotations

import contextlib
import functools
import json
import time
from datetime import datetime, timedelta
from typing import Callable, Iterator, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..formats import jsonio
from .records import (GRANT_COLUMNS, GRANT_TIMES, REPLACED_BY_CONSENT, REVOKED_CODE_REPLAYED, CodeRecord, Grant,
                      PsuAttempt, PsuSession, ReplacedAccessToken, StoreUnavailable, SyncState, count_attempt, instant,
                      login_hash, session_from_text, session_text, timestamp, token_hash)

DEFAULT_PREFIX = "mock-aspsp:"
CLEANUP_MARGIN = timedelta(days=1)
JOURNEY_TTL = timedelta(days=1)
DEFAULT_TIMEOUTS = {"socket_connect_timeout": 2.0, "socket_timeout": 5.0}
# Also "retry shortly" cases: the server we reach became a replica (fail-over in progress), its primary is
# down, or it is out of memory. (ConnectionError covers refused, reset, loading and authentication.)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError) + tuple(
    getattr(redis.exceptions, name) for name in ("ReadOnlyError", "MasterDownError", "OutOfMemoryError")
    if hasattr(redis.exceptions, name)
)

# -- Lua: one script per rule that must be atomic ------------------------------------------------------
# Scripts get the key prefix as ARGV[1] and compute the keys they touch (one Redis, not a cluster).
# Instants travel as the strings Python wrote (repr of a float) and are never turned into Lua numbers,
# whose 14-digit formatting would lose precision; only the Python side compares times.

_REVOKE = """
local function revoke(p, id, now, reason, seen_in)
  local key = p .. 'g:' .. id
  local f = redis.call('HMGET', key, 'bank', 'psu', 'client_id', 'revoked_at')
  redis.call('SREM', p .. 'live', id)
  if not f[1] then  -- cleaned up by its TTL: drop the dangling id from the sets it was found in
    for _, set in ipairs(seen_in) do redis.call('SREM', set, id) end
    return false
  end
  redis.call('SREM', p .. 'live:bank:' .. f[1], id)
  redis.call('SREM', p .. 'live:psu:' .. f[2], id)
  redis.call('SREM', p .. 'live:client:' .. f[3], id)
  if f[4] then return false end
  redis.call('HSET', key, 'revoked_at', now, 'revoked_reason', reason)
  return true
end
"""

# redeem_code: True (1) for exactly one caller; every later call marks the code replayed.
REDEEM_CODE = """
local key = ARGV[1] .. 'code:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
if redis.call('HSETNX', key, 'redeemed_at', ARGV[3]) == 1 then return 1 end
redis.call('HSET', key, 'replayed_at', ARGV[3])
return 0
"""

# issue_grant: revoke the live pair(s) of the triplet, store the new pair and its indexes, tie it to
# its code, and revoke it at once if a replay of that code came before it existed.
# ARGV: prefix, now, ttl_ms, code_hash or '', the two revocation reasons (replaced, code replayed), then the
# grant's fields as name, value pairs.
ISSUE_GRANT = _REVOKE + """
local p, now, ttl, code_hash = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local g, pairs_ = {}, {}
for i = 7, #ARGV, 2 do g[ARGV[i]] = ARGV[i + 1]; table.insert(pairs_, ARGV[i]); table.insert(pairs_, ARGV[i + 1]) end
local sets = {p .. 'live:bank:' .. g.bank, p .. 'live:psu:' .. g.psu, p .. 'live:client:' .. g.client_id}
local replaced = {}
for _, old in ipairs(redis.call('SINTER', sets[1], sets[2], sets[3])) do
  if revoke(p, old, now, ARGV[5], sets) then table.insert(replaced, old) end
end
local seq = redis.call('INCR', p .. 'grant_seq')
local key = p .. 'g:' .. g.id
table.insert(pairs_, 'seq'); table.insert(pairs_, tostring(seq))
redis.call('HSET', key, unpack(pairs_))
redis.call('PEXPIRE', key, ttl)
redis.call('SET', p .. 'access:' .. g.access_hash, g.id, 'PX', ttl)
redis.call('SET', p .. 'refresh:' .. g.refresh_hash, g.id, 'PX', ttl)
redis.call('ZADD', p .. 'grants', g.issued_at, string.format('%016d:', seq) .. g.id)
redis.call('SADD', p .. 'live', g.id)
for _, set in ipairs(sets) do redis.call('SADD', set, g.id) end
if code_hash ~= '' then
  local code = p .. 'code:' .. code_hash
  if redis.call('EXISTS', code) == 1 then
    redis.call('HSET', code, 'grant_id', g.id)
    if redis.call('HEXISTS', code, 'replayed_at') == 1 then
      revoke(p, g.id, now, ARGV[6], {})
    end
  end
end
return replaced
"""

# The grant behind an access or refresh token in one round trip. ARGV: prefix, index ('access' | 'refresh'), hash.
GRANT_BY_TOKEN = """
local id = redis.call('GET', ARGV[1] .. ARGV[2] .. ':' .. ARGV[3])
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. 'g:' .. id)
"""

# replace_access_token on a live pair only; the old access token's index goes with the overwrite, and the
# old token is kept as replaced (its pair and when), cleaned up with the pair.
# ARGV: prefix, grant id, new access hash, new access expiry, now.
REPLACE_ACCESS_TOKEN = """
local key = ARGV[1] .. 'g:' .. ARGV[2]
local f = redis.call('HMGET', key, 'access_hash', 'revoked_at')
if not f[1] or f[2] then return 0 end
local ttl = redis.call('PTTL', key)
local replaced = ARGV[1] .. 'replaced:' .. f[1]
redis.call('DEL', ARGV[1] .. 'access:' .. f[1])
redis.call('HSET', key, 'access_hash', ARGV[3], 'access_expires_at', ARGV[4])
redis.call('HSET', replaced, 'grant_id', ARGV[2], 'replaced_at', ARGV[5])
if ttl > 0 then
  redis.call('SET', ARGV[1] .. 'access:' .. ARGV[3], ARGV[2], 'PX', ttl)
  redis.call('PEXPIRE', replaced, ttl)
else
  redis.call('SET', ARGV[1] .. 'access:' .. ARGV[3], ARGV[2])
end
return 1
"""

# The pair of an access token a refresh replaced, and when: {replaced_at, {grant fields}} or {}.
# ARGV: prefix, access hash.
REPLACED_ACCESS_TOKEN = """
local r = redis.call('HMGET', ARGV[1] .. 'replaced:' .. ARGV[2], 'grant_id', 'replaced_at')
if not r[1] then return {} end
local g = redis.call('HGETALL', ARGV[1] .. 'g:' .. r[1])
if #g == 0 then return {} end
return {r[2], g}
"""

# revoke_grants: every live pair matching all given criteria ('' = any). ARGV: prefix, now, reason,
# grant id, bank, psu, client id.
REVOKE_GRANTS = _REVOKE + """
local p, now, reason = ARGV[1], ARGV[2], ARGV[3]
local want = {id = ARGV[4], bank = ARGV[5], psu = ARGV[6], client_id = ARGV[7]}
local sets = {}
if want.bank ~= '' then table.insert(sets, p .. 'live:bank:' .. want.bank) end
if want.psu ~= '' then table.insert(sets, p .. 'live:psu:' .. want.psu) end
if want.client_id ~= '' then table.insert(sets, p .. 'live:client:' .. want.client_id) end
local candidates
if want.id ~= '' then
  candidates = {want.id}
elseif #sets > 0 then
  candidates = redis.call('SINTER', unpack(sets))
else
  candidates = redis.call('SMEMBERS', p .. 'live')
  sets = {p .. 'live'}
end
local revoked = {}
for _, id in ipairs(candidates) do
  local f = redis.call('HMGET', p .. 'g:' .. id, 'bank', 'psu', 'client_id')
  if (want.bank == '' or f[1] == want.bank) and (want.psu == '' or f[2] == want.psu)
      and (want.client_id == '' or f[3] == want.client_id) then
    if revoke(p, id, now, reason, sets) then table.insert(revoked, id) end
  end
end
return revoked
"""

# record: append to the journal and drop the oldest past the limit, in one round trip. ARGV: key, entry, limit.
# update_journey: replace a journey only if it is still the one read (compare and set).
UPDATE_JOURNEY = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

# update_plan: replace a conformance plan (a field of one hash) only if it is still the one read (compare and set).
UPDATE_PLAN = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# psu_attempt_passed: one failure less, and the login's hash gone at none (never a count lost in between).
PSU_PASSED = """
if redis.call('HINCRBY', KEYS[1], 'failures', -1) <= 0 then redis.call('DEL', KEYS[1]) end
return 1
"""

RECORD = """
redis.call('LPUSH', ARGV[1], ARGV[2])
redis.call('LTRIM', ARGV[1], 0, tonumber(ARGV[3]) - 1)
return 1
"""

# reset: delete this sandbox's state keys (never another prefix's, never the scenario), real time again.
# ARGV: prefix, SCAN pattern of the state keys.
RESET = """
local cursor = '0'
repeat
  local answer = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
  cursor = answer[1]
  for _, key in ipairs(answer[2]) do redis.call('UNLINK', key) end
until cursor == '0'
redis.call('HDEL', ARGV[1] .. 'meta', 'clock_offset')
return 1
"""


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def split_url(url: str) -> tuple[str, str]:
    """(URL for the redis client, key prefix): ``?prefix=`` is ours, the other query options redis-py's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _available(method):
    """Turn Redis being unreachable into StoreUnavailable (a 503 for the request)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except UNAVAILABLE as error:
            raise StoreUnavailable(f"Redis at {self.location}: {error}") from error

    return call


def _cleanup_ttl_ms(until: datetime) -> int:
    """Milliseconds until a record may be cleaned up: the margin past ``until`` (mock time) in real time."""
    return int((max(until.timestamp() - time.time(), 0) + CLEANUP_MARGIN.total_seconds()) * 1000)


def _grant_from_hash(data: dict) -> Grant:
    return Grant(**{
        k: (instant(float(data[k])) if k in data else None) if k in GRANT_TIMES else data.get(k)
        for k in GRANT_COLUMNS
    })


class RedisStore:
    """The shared store of several replicas: one Redis, keys under ``prefix``."""

    def __init__(self, client: "redis.Redis", prefix: str = DEFAULT_PREFIX, journal_limit: int = 10_000,
                 location: str = "redis"):
        self.client = client
        self.prefix = prefix
        self.journal_limit = journal_limit
        self.location = location
        self._redeem_code = client.register_script(REDEEM_CODE)
        self._issue_grant = client.register_script(ISSUE_GRANT)
        self._grant_by_token = client.register_script(GRANT_BY_TOKEN)
        self._replace_access_token = client.register_script(REPLACE_ACCESS_TOKEN)
        self._replaced_access_token = client.register_script(REPLACED_ACCESS_TOKEN)
        self._revoke_grants = client.register_script(REVOKE_GRANTS)
        self._reset = client.register_script(RESET)
        self._record = client.register_script(RECORD)
        self._update_journey = client.register_script(UPDATE_JOURNEY)
        self._psu_passed = client.register_script(PSU_PASSED)
        self._update_plan = client.register_script(UPDATE_PLAN)

    @classmethod
    def from_url(cls, url: str, journal_limit: int = 10_000, location: str = "redis") -> "RedisStore":
        """``redis://[:password@]host:6379/0[?prefix=team-a:]`` (also ``rediss://``, ``unix://``); ``location``:
        the URL as errors show it (``describe_store``)."""
        client_url, prefix = split_url(url)
        options = {k: v for k, v in DEFAULT_TIMEOUTS.items() if k not in dict(parse_qsl(urlsplit(url).query))}
        client = redis.Redis.from_url(client_url, decode_responses=True, retry=Retry(NoBackoff(), 0), **options)
        return cls(client, prefix, journal_limit, location)

    # -- keys -----------------------------------------------------------
    # The scenario lives in ``meta``; every other key is state, under ``<prefix>s:`` so that reset can
    # find exactly those (and no other sandbox's, even one whose prefix starts like ours).
    def _key(self, name: str) -> str:
        return self.prefix + name

    @property
    def _state(self) -> str:
        return self.prefix + "s:"

    def _s(self, name: str) -> str:
        return self._state + name

    # -- shared settings ------------------------------------------------
    @_available
    def sync_state(self) -> SyncState:
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._key("meta"), "clock_offset", "scenario_version")
        pipe.lrange(self._s("rules"), 0, -1)
        pipe.exists(self._s("plans"))
        (offset, version), rules, plans = pipe.execute()
        return SyncState(
            clock_offset=timedelta(seconds=float(offset or 0)),
            scenario_version=int(version or 0),
            runtime_rules="[" + ", ".join(rules) + "]",
            conformance_plans=bool(plans),
        )

    @_available
    def set_clock_offset(self, offset: timedelta) -> None:
        self.client.hset(self._key("meta"), "clock_offset", repr(offset.total_seconds()))

    @_available
    def advance_clock(self, delta: timedelta, check: Callable[[timedelta], timedelta]) -> timedelta:
        """Add ``delta`` to the offset atomically (WATCH/MULTI: a concurrent move makes this one retry);
        ``check`` may refuse the result by raising, and then nothing changes."""
        key = self._key("meta")

        def move(pipe) -> timedelta:
            offset = check(timedelta(seconds=float(pipe.hget(key, "clock_offset") or 0)) + delta)
            pipe.multi()
            pipe.hset(key, "clock_offset", repr(offset.total_seconds()))
            return offset

        return self.client.transaction(move, key, value_from_callable=True)

    @_available
    def put_scenario(self, source: str, text: str) -> int:
        """Store a new, already validated scenario; returns its version."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(self._key("meta"), "scenario_version", 1)
        pipe.hset(self._key("meta"), "scenario", json.dumps({"source": source, "text": text}))
        pipe.delete(self._s("rule_counters"))
        return int(pipe.execute()[0])

    @_available
    def get_scenario(self) -> tuple[int, str, str]:
        """(version, source, text) of the current scenario."""
        version, scenario = self.client.hmget(self._key("meta"), "scenario_version", "scenario")
        data = json.loads(scenario or '{"source": "", "text": ""}')
        return int(version or 0), data["source"], data["text"]

    @_available
    def reset(self) -> None:
        """Back to the scenario's initial state: no tokens, journeys, changes or journal; real time."""
        self._reset(args=[self.prefix, _glob_escape(self._state) + "*"])

    # -- SCA journeys ---------------------------------------------------
    @_available
    def put_journey(self, journey_id: str, data: dict) -> None:
        self.client.set(self._s(f"journey:{journey_id}"), json.dumps(data), px=int(JOURNEY_TTL.total_seconds() * 1000))

    @_available
    def update_journey(self, journey_id: str, expected: dict, data: dict) -> bool:
        """Move a journey on only if it is still as ``expected`` (as read); False otherwise."""
        args = [json.dumps(expected), json.dumps(data), int(JOURNEY_TTL.total_seconds() * 1000)]
        return self._update_journey(keys=[self._s(f"journey:{journey_id}")], args=args) == 1

    @_available
    def get_journey(self, journey_id: str) -> Optional[dict]:
        raw = self.client.get(self._s(f"journey:{journey_id}"))
        return None if raw is None else json.loads(raw)

    # -- conformance plans: one hash, by client_id (``sync_state`` asks whether it exists) ----------
    @_available
    def put_plan(self, client_id: str, plan: dict) -> None:
        self.client.hset(self._s("plans"), client_id, json.dumps(plan))

    @_available
    def plan(self, client_id: str) -> Optional[dict]:
        raw = self.client.hget(self._s("plans"), client_id)
        return None if raw is None else json.loads(raw)

    @_available
    def update_plan(self, client_id: str, expected: dict, plan: dict) -> bool:
        args = [client_id, json.dumps(expected), json.dumps(plan)]
        return self._update_plan(keys=[self._s("plans")], args=args) == 1

    # -- authorization codes --------------------------------------------
    @_available
    def put_code(self, code: str, data: dict, expires_at: datetime) -> None:
        key = self._s(f"code:{token_hash(code)}")
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping={"data": json.dumps(data), "expires_at": repr(timestamp(expires_at))})
        pipe.pexpire(key, _cleanup_ttl_ms(expires_at))
        pipe.execute()

    @_available
    def code(self, code: str) -> Optional[CodeRecord]:
        data, expires_at, redeemed_at = self.client.hmget(
            self._s(f"code:{token_hash(code)}"), "data", "expires_at", "redeemed_at"
        )
        if data is None:
            return None
        return CodeRecord(json.loads(data), instant(float(expires_at)), redeemed_at is not None)

    @_available
    def redeem_code(self, code: str, now: datetime) -> bool:
        """Mark a code used; True for exactly one caller however many race (on any replica)."""
        return self._redeem_code(args=[self._state, token_hash(code), repr(timestamp(now))]) == 1

    @_available
    def revoke_code_grant(self, code: str, now: datetime) -> list[str]:
        """A replayed code: revoke the pair it produced (RFC 6749 §4.1.2)."""
        grant_id = self.client.hget(self._s(f"code:{token_hash(code)}"), "grant_id")
        if grant_id is None:
            return []
        return self.revoke_grants(now, REVOKED_CODE_REPLAYED, grant_id=grant_id)

    # -- token pairs ----------------------------------------------------
    @_available
    def issue_grant(self, grant: Grant, now: datetime, code: Optional[str] = None) -> list[str]:
        """Store a new pair, revoking any live pair of the same PSU / TPP at that bank
        (``REPLACED_BY_CONSENT``). Returns the ids of the pairs it revoked.
        """
        fields: list[str] = []
        for name in GRANT_COLUMNS:
            value = getattr(grant, name)
            if value is not None:
                fields += [name, repr(timestamp(value)) if name in GRANT_TIMES else str(value)]
        ttl = _cleanup_ttl_ms(max(grant.refresh_expires_at, grant.access_expires_at))
        args = [self._state, repr(timestamp(now)), ttl, token_hash(code) if code is not None else "",
                REPLACED_BY_CONSENT, REVOKED_CODE_REPLAYED, *fields]
        return list(self._issue_grant(args=args))

    def _grant_by(self, index: str, token: str) -> Optional[Grant]:
        flat = self._grant_by_token(args=[self._state, index, token_hash(token)])
        return _grant_from_hash(dict(zip(flat[::2], flat[1::2]))) if flat else None

    @_available
    def grant_by_access_token(self, token: str) -> Optional[Grant]:
        return self._grant_by("access", token)

    @_available
    def grant_by_refresh_token(self, token: str) -> Optional[Grant]:
        return self._grant_by("refresh", token)

    @_available
    def grant(self, grant_id: str) -> Optional[Grant]:
        data = self.client.hgetall(self._s(f"g:{grant_id}"))
        return _grant_from_hash(data) if data else None

    @_available
    def replaced_access_token(self, token: str) -> Optional[ReplacedAccessToken]:
        """The pair of an access token a refresh replaced (``REPLACED_BY_REFRESH``), or None."""
        found = self._replaced_access_token(args=[self._state, token_hash(token)])
        if not found:
            return None
        replaced_at, flat = found
        return ReplacedAccessToken(_grant_from_hash(dict(zip(flat[::2], flat[1::2]))), instant(float(replaced_at)))

    @_available
    def replace_access_token(self, grant_id: str, access_token: str, expires_at: datetime, now: datetime) -> bool:
        """Give a live pair a new access token; the old one is kept as replaced at ``now``."""
        args = [self._state, grant_id, token_hash(access_token), repr(timestamp(expires_at)), repr(timestamp(now))]
        return self._replace_access_token(args=args) == 1

    @_available
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
        criteria = [grant_id, bank, psu, client_id]
        args = [self._state, repr(timestamp(now)), reason, *("" if v is None else v for v in criteria)]
        return list(self._revoke_grants(args=args))

    def grants(self) -> Iterator[Grant]:
        """Every stored pair, oldest first (issue order among pairs issued at the same instant)."""
        with self._unavailable():
            members = self.client.zrange(self._s("grants"), 0, -1)
        for start in range(0, len(members), 500):
            chunk = members[start:start + 500]
            with self._unavailable():
                pipe = self.client.pipeline(transaction=False)
                for member in chunk:
                    pipe.hgetall(self._s(f"g:{member.split(':', 1)[1]}"))
                found = pipe.execute()
                gone = [m for m, data in zip(chunk, found) if not data]
                if gone:  # cleaned up by their TTL
                    self.client.zrem(self._s("grants"), *gone)
            for data in found:
                if data:
                    yield _grant_from_hash(data)

    @contextlib.contextmanager
    def _unavailable(self) -> Iterator[None]:
        try:
            yield
        except UNAVAILABLE as error:
            raise StoreUnavailable(f"Redis at {self.location}: {error}") from error

    # -- PSU lock-out: one hash per login (failures, until), counted under WATCH --------------------
    def _psu(self, bank: str, login: str) -> str:
        return self._s(f"psu:{bank}:{login_hash(login)}")

    @staticmethod
    def _psu_row(failures: Optional[str], until: Optional[str]) -> Optional[tuple[int, float]]:
        return (int(failures), float(until)) if failures is not None and until is not None else None

    def _write_psu(self, pipe, key: str, failures: int, until: float) -> None:
        pipe.hset(key, mapping={"failures": failures, "until": repr(until)})
        pipe.pexpire(key, _cleanup_ttl_ms(instant(until)))

    @_available
    def psu_attempt(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> PsuAttempt:
        """Count one password or one-time code attempt of a login, before it is checked (``count_attempt``):
        an optimistic transaction, so parallel attempts on any replica are each counted once."""
        key = self._psu(bank, login)

        def count(pipe) -> PsuAttempt:
            found, write = count_attempt(self._psu_row(*pipe.hmget(key, "failures", "until")), now, attempts, duration)
            pipe.multi()
            if write:
                self._write_psu(pipe, key, *write)
            return found

        return self.client.transaction(count, key, value_from_callable=True)

    @_available
    def psu_attempt_passed(self, bank: str, login: str) -> None:
        """The attempt counted by ``psu_attempt`` was a right password: it is not a failure."""
        self._psu_passed(keys=[self._psu(bank, login)])

    @_available
    def clear_psu_failures(self, bank: str, login: str) -> None:
        self.client.delete(self._psu(bank, login))

    @_available
    def lock_psu(self, bank: str, login: str, now: datetime, attempts: int, duration: timedelta) -> None:
        pipe = self.client.pipeline(transaction=True)
        self._write_psu(pipe, self._psu(bank, login), attempts, timestamp(now + duration))
        pipe.execute()

    @_available
    def psu_failures(self, bank: str, login: str, now: datetime) -> tuple[int, Optional[datetime]]:
        row = self._psu_row(*self.client.hmget(self._psu(bank, login), "failures", "until"))
        return (row[0], instant(row[1])) if row and row[1] > timestamp(now) else (0, None)

    # -- the PSU's dashboard sessions -----------------------------------
    @_available
    def put_psu_session(self, cookie: str, session: PsuSession) -> None:
        self.client.set(self._s(f"psu_session:{token_hash(cookie)}"), session_text(session),
                        px=_cleanup_ttl_ms(session.expires_at))

    @_available
    def psu_session(self, cookie: str) -> Optional[PsuSession]:
        raw = self.client.get(self._s(f"psu_session:{token_hash(cookie)}"))
        return None if raw is None else session_from_text(raw)

    @_available
    def end_psu_session(self, cookie: str) -> None:
        self.client.delete(self._s(f"psu_session:{token_hash(cookie)}"))

    # -- runtime changes: merged field by field in one hash (HSET is the atomic merge) -------------
    def _merge(self, key: str, changes: dict) -> dict:
        pipe = self.client.pipeline(transaction=True)
        if changes:
            pipe.hset(key, mapping={k: json.dumps(v) for k, v in changes.items()})
        pipe.hgetall(key)
        return {k: json.loads(v) for k, v in pipe.execute()[-1].items()}

    def _changes(self, key: str) -> dict:
        return {k: json.loads(v) for k, v in self.client.hgetall(key).items()}

    @_available
    def patch_account(self, bank: str, iban: str, changes: dict) -> dict:
        """Merge changes (balance, overdraft, status) into earlier ones; returns the merged set."""
        return self._merge(self._s(f"account:{bank}:{iban}"), changes)

    @_available
    def account_changes(self, bank: str, iban: str) -> dict:
        return self._changes(self._s(f"account:{bank}:{iban}"))

    # -- runtime TPP registry -------------------------------------------
    @_available
    def patch_tpp(self, client_id: str, changes: dict) -> dict:
        """Merge registry changes (status, denied) into earlier ones; returns the merged set."""
        return self._merge(self._s(f"tpp:{client_id}"), changes)

    @_available
    def tpp_changes(self, client_id: str) -> dict:
        return self._changes(self._s(f"tpp:{client_id}"))

    @_available
    def revoke_certificate(self, sha256: str, now: datetime) -> None:
        self.client.hsetnx(self._s("revoked_certificates"), sha256, repr(timestamp(now)))

    @_available
    def revoked_certificates(self) -> frozenset[str]:
        return frozenset(self.client.hkeys(self._s("revoked_certificates")))

    # -- the registration API: one hash of registrations, one key per registration token ------------
    @_available
    def put_registration(self, client_id: str, data: dict) -> None:
        """Insert or replace; the order is kept by the number a client gets when first stored."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._s("registrations"), client_id, json.dumps(data))
        pipe.zadd(self._s("registration_order"), {client_id: time.time()}, nx=True)
        pipe.execute()

    @_available
    def registration(self, client_id: str) -> Optional[dict]:
        text = self.client.hget(self._s("registrations"), client_id)
        return None if text is None else json.loads(text)

    @_available
    def registrations(self) -> list[dict]:
        pipe = self.client.pipeline(transaction=False)
        pipe.zrange(self._s("registration_order"), 0, -1)
        pipe.hgetall(self._s("registrations"))
        order, found = pipe.execute()
        return [json.loads(found[c]) for c in order if c in found]

    @_available
    def delete_registration(self, client_id: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self._s("registrations"), client_id)
        pipe.zrem(self._s("registration_order"), client_id)
        return pipe.execute()[0] == 1

    @_available
    def put_registration_token(self, token: str, organization: str, expires_at: datetime) -> None:
        value = json.dumps({"organization": organization, "expires_at": repr(timestamp(expires_at))})
        self.client.set(self._s(f"registration_token:{token_hash(token)}"), value, px=_cleanup_ttl_ms(expires_at))

    @_available
    def registration_token(self, token: str) -> Optional[tuple[str, datetime]]:
        text = self.client.get(self._s(f"registration_token:{token_hash(token)}"))
        if text is None:
            return None
        data = json.loads(text)
        return data["organization"], instant(float(data["expires_at"]))

    # -- request journal ------------------------------------------------
    @_available
    def record(self, entry: dict) -> None:
        """Append to the journal, dropping the oldest entries past the limit."""
        self._record(args=[self._s("journal"), jsonio.dumps(entry), self.journal_limit])

    @_available
    def journal(self) -> list[dict]:
        return [json.loads(e) for e in self.client.lrange(self._s("journal"), 0, self.journal_limit - 1)][::-1]

    @_available
    def clear_journal(self) -> None:
        self.client.delete(self._s("journal"))

    # -- fault rules ----------------------------------------------------
    @_available
    def add_rule(self, rule: dict) -> None:
        self.client.rpush(self._s("rules"), json.dumps(rule))

    @_available
    def remove_rule(self, name: str) -> bool:
        """LREM of the rule's own JSON text: atomic, whatever another replica adds meanwhile."""
        texts = [text for text in self.client.lrange(self._s("rules"), 0, -1) if json.loads(text).get("name") == name]
        with self.client.pipeline(transaction=True) as pipe:
            for text in texts:
                pipe.lrem(self._s("rules"), 0, text)
            pipe.hdel(self._s("rule_counters"), name)
            removed = pipe.execute()[:-1]
        return any(removed)

    @_available
    def clear_rules(self) -> None:
        self.client.delete(self._s("rules"), self._s("rule_counters"))

    @_available
    def rule_counters(self) -> dict[str, tuple[int, int]]:
        return {name: _counts(value) for name, value in self.client.hgetall(self._s("rule_counters")).items()}

    @_available
    def rule_fires(self, name: str, decide: Callable[[int, int], bool]) -> bool:
        """Count one matching call and decide, atomically, whether the rule fires on it.

        ``decide`` is Python, so this is an optimistic transaction: read the counters under WATCH,
        decide, write in MULTI; if another call (on any replica) counted meanwhile, start again.
        """
        key = self._s("rule_counters")

        def count(pipe) -> bool:
            matched, fired = _counts(pipe.hget(key, name))
            fire = bool(decide(matched + 1, fired))
            pipe.multi()
            pipe.hset(key, name, f"{matched + 1} {fired + fire}")
            return fire

        return self.client.transaction(count, key, value_from_callable=True)


def _counts(value: Optional[str]) -> tuple[int, int]:
    if not value:
        return 0, 0
    matched, fired = value.split()
    return int(matched), int(fired)

