"""The store's concurrency rules and the start-up rule of a server joining a shared store.

The tests of the ``store`` fixture run on SQLite and on Redis (``store_url``);
those of ``redis_store`` are about Redis only (prefixes, capped journal,
clean-up TTLs, connection errors).
Threads stand in for replicas: each call is one request of one of them.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from mock_aspsp.bank.clock import Clock
from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.sandbox import ADMIN_SOURCE, Sandbox
from mock_aspsp.store import describe_store, open_store
from mock_aspsp.store.records import (REPLACED_BY_CONSENT, REVOKED_BY_BANK, REVOKED_BY_PSU, REVOKED_BY_TPP, Grant,
                                      PsuSession, StoreUnavailable, token_hash)
from mock_aspsp.store.sqlite import SqliteStore
from support import START

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
THREADS = 20


@pytest.fixture
def store(tmp_path, store_url):
    return open_store(store_url, str(tmp_path / "state.sqlite3"))


@pytest.fixture
def redis_store(redis_server):
    """For the Redis-only tests: a RedisStore on the session's server under a prefix of its own."""
    prefix = f"test-{uuid.uuid4().hex[:16]}:"
    yield open_store(redis_server.url(prefix=prefix), "unused")
    redis_server.delete_prefix(prefix)


def pair(n: int, psu: str = "alice", client_id: str = "PSDFR-ACPR-12345", bank: str = "30007") -> Grant:
    return Grant(id=f"g{n}", bank=bank, psu=psu, client_id=client_id, scope="cbpii", iban="FR76", authenticated_at=NOW,
                 issued_at=NOW, access_hash=token_hash(f"a{n}"), access_expires_at=NOW + timedelta(hours=1),
                 refresh_hash=token_hash(f"r{n}"), refresh_expires_at=NOW + timedelta(days=180))


def at_once(call, count=THREADS):
    """``call(i)`` from ``count`` threads released together; the results in order."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def live(store):
    return [g for g in store.grants() if g.revoked_at is None]


# -- atomicity under threads ------------------------------------------------------------------
def test_twenty_threads_redeeming_one_code_one_wins(store):
    store.put_code("the-code", {"psu": "alice"}, NOW + timedelta(minutes=1))
    assert sorted(at_once(lambda i: store.redeem_code("the-code", NOW))) == [False] * (THREADS - 1) + [True]
    assert store.code("the-code").redeemed


def test_parallel_issue_grant_for_one_triplet_leaves_one_live_pair(store):
    replaced = at_once(lambda i: store.issue_grant(pair(i), NOW))
    survivors = live(store)
    assert len(survivors) == 1
    assert sum(len(r) for r in replaced) == THREADS - 1  # each pair but the last was replaced exactly once
    assert {g.revoked_reason for g in store.grants() if g.revoked_at} == {"replaced by a new consent"}
    assert store.grant_by_access_token(f"a{survivors[0].id[1:]}").revoked_at is None


def test_parallel_refreshes_of_a_live_pair_leave_one_access_token(store):
    store.issue_grant(pair(0), NOW)
    assert all(at_once(lambda i: store.replace_access_token("g0", f"new{i}", NOW + timedelta(hours=2), NOW)))
    current = [i for i in range(THREADS) if store.grant_by_access_token(f"new{i}") is not None]
    assert len(current) == 1 and store.grant_by_access_token("a0") is None
    # every other token each refresh gave, and the first, is kept as replaced: none is lost, none is live
    replaced = [i for i in range(THREADS) if store.replaced_access_token(f"new{i}") is not None]
    assert sorted(replaced + current) == list(range(THREADS))
    assert store.replaced_access_token("a0").grant.id == "g0"


def test_a_refresh_keeps_the_access_token_it_replaced_and_when(store):
    later = NOW + timedelta(minutes=20)
    store.issue_grant(pair(0), NOW)
    assert store.replaced_access_token("a0") is None  # live, not replaced
    assert store.replace_access_token("g0", "a0-bis", later + timedelta(hours=1), later)
    replaced = store.replaced_access_token("a0")
    assert replaced.replaced_at == later
    assert (replaced.grant.id, replaced.grant.revoked_at) == ("g0", None)  # its pair lives on
    assert replaced.grant.access_hash == token_hash("a0-bis")
    assert store.grant_by_access_token("a0") is None and store.replaced_access_token("a0-bis") is None
    assert store.replaced_access_token("never-issued") is None
    store.revoke_grants(later, REVOKED_BY_TPP, grant_id="g0")  # a later death of the pair: the old token's stays
    assert store.replaced_access_token("a0").replaced_at == later


def test_each_way_a_pair_dies_is_stored(store):
    store.issue_grant(pair(1), NOW)
    store.issue_grant(pair(2), NOW + timedelta(minutes=1))  # a new consent of the same PSU / TPP / bank
    store.issue_grant(pair(3, psu="bruno"), NOW)
    store.issue_grant(pair(4, psu="carla"), NOW)
    store.revoke_grants(NOW, REVOKED_BY_PSU, psu="bruno")
    store.revoke_grants(NOW, REVOKED_BY_BANK + " (fraud suspected)", psu="carla")
    assert store.grant("g1").revoked_reason == REPLACED_BY_CONSENT == "replaced by a new consent"
    assert store.grant("g1").revoked_at == NOW + timedelta(minutes=1)
    assert (store.grant("g3").revoked_reason, store.grant("g4").revoked_reason) == (
        "revoked by the PSU", "revoked by the bank (fraud suspected)")
    assert store.grant("g2").revoked_at is None


def test_a_revoked_pair_gets_no_new_access_token(store):
    store.issue_grant(pair(0), NOW)
    assert store.revoke_grants(NOW, "revoked by the TPP", grant_id="g0") == ["g0"]
    assert store.replace_access_token("g0", "late", NOW, NOW) is False
    assert store.grant_by_access_token("late") is None and store.grant_by_access_token("a0").revoked_at == NOW
    assert store.replaced_access_token("a0") is None  # revoked, not replaced


def test_rule_counters_count_every_call_and_fire_exactly_as_decided(store):
    fired = at_once(lambda i: store.rule_fires("first-three", lambda matched, fired: fired < 3))
    assert fired.count(True) == 3
    assert store.rule_counters() == {"first-three": (THREADS, 3)}


def test_parallel_account_patches_all_merge(store):
    fields = [("balance", "10.00"), ("overdraft", "50"), ("status", "blocked")]
    at_once(lambda i: store.patch_account("30007", "FR76", dict([fields[i % 3]])), count=9)
    assert store.account_changes("30007", "FR76") == {"balance": "10.00", "overdraft": "50", "status": "blocked"}


def test_replay_racing_the_exchange_revokes_the_new_pair(store):
    store.put_code("c", {}, NOW + timedelta(minutes=1))
    assert store.redeem_code("c", NOW) is True
    assert store.redeem_code("c", NOW) is False and store.revoke_code_grant("c", NOW) == []  # no pair yet
    store.issue_grant(pair(1), NOW, code="c")
    assert store.grant("g1").revoked_reason == "revoked: its authorization code was replayed"


def test_revoke_by_criteria(store):
    store.issue_grant(pair(1, psu="alice"), NOW)
    store.issue_grant(pair(2, psu="bruno"), NOW)
    store.issue_grant(pair(3, psu="bruno", client_id="PSDFR-ACPR-99999"), NOW)
    store.issue_grant(pair(4, psu="bruno", bank="10107"), NOW)
    assert store.revoke_grants(NOW, "x", psu="bruno", client_id="PSDFR-ACPR-12345", bank="30007") == ["g2"]
    assert sorted(store.revoke_grants(NOW, "y", psu="bruno")) == ["g3", "g4"]
    assert store.revoke_grants(NOW, "z", grant_id="g1", psu="bruno") == []
    assert store.revoke_grants(NOW, "z") == ["g1"]
    assert [(g.id, g.revoked_reason) for g in store.grants()] == [("g1", "z"), ("g2", "x"), ("g3", "y"), ("g4", "y")]


def test_remove_rule_removes_that_rule_and_its_counters_only(store):
    store.add_rule({"name": "a", "action": {"status": 429}})
    store.add_rule({"name": "b", "action": {"status": 503}})
    store.rule_fires("a", lambda m, f: True)
    store.rule_fires("b", lambda m, f: True)
    assert store.remove_rule("a") is True
    assert store.remove_rule("a") is False and store.remove_rule("never-added") is False
    assert json.loads(store.sync_state().runtime_rules) == [{"name": "b", "action": {"status": 503}}]
    assert store.rule_counters() == {"b": (1, 1)}


def test_reset_keeps_the_scenario_and_forgets_the_rest(store):
    version = store.put_scenario("file.yaml", "name: x")
    store.issue_grant(pair(1), NOW)
    store.replace_access_token("g1", "a1-bis", NOW + timedelta(hours=1), NOW)
    store.set_clock_offset(timedelta(hours=3))
    store.add_rule({"name": "r"})
    store.patch_tpp("PSDFR-ACPR-12345", {"status": "revoked"})
    store.revoke_certificate("ab" * 32, NOW)
    store.record({"path": "/token"})
    store.put_psu_session("cookie", PsuSession("30007", "alice", "csrf", NOW + timedelta(minutes=10)))
    store.reset()
    assert store.get_scenario() == (version, "file.yaml", "name: x")
    state = store.sync_state()
    assert (state.clock_offset, state.scenario_version, state.runtime_rules) == (timedelta(), version, "[]")
    assert list(store.grants()) == [] and store.grant_by_access_token("a1") is None
    assert store.replaced_access_token("a1") is None
    assert store.tpp_changes("PSDFR-ACPR-12345") == {} and store.revoked_certificates() == frozenset()
    assert store.journal() == []
    assert store.psu_session("cookie") is None


def test_a_psu_session_is_found_by_its_cookie_until_it_ends(store):
    """Kept under the cookie's hash, with its instant on the mock's clock (a Redis TTL only cleans up)."""
    session = PsuSession("30007", "alice", "csrf-secret", NOW + timedelta(minutes=10))
    store.put_psu_session("cookie-1", session)
    assert store.psu_session("cookie-1") == session
    assert store.psu_session("cookie-2") is None
    store.end_psu_session("cookie-1")
    assert store.psu_session("cookie-1") is None


def test_the_journal_keeps_any_text_a_request_brings(store):
    """Both stores write the line with ``jsonio.dumps``: orjson, or the standard library for what it refuses."""
    written = [{"error": "montant refusé ✓"}, {"error": "\ud800"}, {"big": 2 ** 70}]
    for entry in written:
        store.record(entry)
    assert store.journal() == written


def test_another_servers_change_is_seen_at_the_next_sync(tmp_path, store_url):
    """The SQLite store answers look-ups from a per-connection cache: a change made through another
    connection (a worker, a replica) must show from the reader's next ``sync_state`` (the first read of
    every request), and the reader's own writes at once."""
    writer, reader = (open_store(store_url, str(tmp_path / "state.sqlite3")) for _ in range(2))
    writer.issue_grant(pair(1), NOW)
    reader.sync_state()
    assert reader.grant_by_access_token("a1").revoked_at is None
    assert (reader.account_changes("30007", "FR76"), reader.tpp_changes("PSDFR-ACPR-12345")) == ({}, {})
    assert reader.revoked_certificates() == frozenset()

    assert reader.replaced_access_token("a2") is None
    writer.issue_grant(pair(2, psu="bruno"), NOW)
    writer.replace_access_token("g2", "a2-bis", NOW + timedelta(hours=1), NOW)
    writer.revoke_grants(NOW, "revoked by the TPP", grant_id="g1")
    writer.patch_account("30007", "FR76", {"status": "blocked"})
    writer.patch_tpp("PSDFR-ACPR-12345", {"denied": "audit"})
    writer.revoke_certificate("ab" * 32, NOW)
    writer.set_clock_offset(timedelta(hours=2))
    assert reader.sync_state().clock_offset == timedelta(hours=2)
    assert reader.grant_by_access_token("a1").revoked_reason == "revoked by the TPP"
    assert reader.replaced_access_token("a2").grant.id == "g2"
    assert reader.account_changes("30007", "FR76") == {"status": "blocked"}
    assert reader.tpp_changes("PSDFR-ACPR-12345") == {"denied": "audit"}
    assert reader.revoked_certificates() == frozenset({"ab" * 32})

    reader.patch_account("30007", "FR76", {"status": "active"})
    assert reader.account_changes("30007", "FR76") == {"status": "active"}
    reader.account_changes("30007", "FR76")["status"] = "closed"  # a caller's copy, not the cache
    assert reader.account_changes("30007", "FR76") == {"status": "active"}


def test_the_sqlite_journal_lives_beside_the_state(tmp_path):
    """Written on every request, the journal has a folder of its own, so that it does not change the state
    file (which would empty every worker's cache); reset and clear still empty it."""
    store = SqliteStore(str(tmp_path / "state.sqlite3"))
    store.sync_state()
    version = store._db().execute("PRAGMA data_version").fetchone()[0]
    generation = store._generation.value()
    store.record({"path": "/token"})
    assert (tmp_path / "state.sqlite3.journal").is_dir() and store.journal() == [{"path": "/token"}]
    assert SqliteStore(str(tmp_path / "state.sqlite3")).journal() == [{"path": "/token"}]
    other = SqliteStore(str(tmp_path / "state.sqlite3"))
    other.record({"path": "/revoke"})
    assert store._db().execute("PRAGMA data_version").fetchone()[0] == version
    assert store._generation.value() == generation
    store.reset()
    assert other.journal() == []


def test_a_state_file_of_an_earlier_version_gets_the_table_of_replaced_tokens(tmp_path):
    """A SQLite state file is kept across restarts: one written before replaced access tokens were kept opens,
    and refreshes keep them from then on."""
    path = str(tmp_path / "state.sqlite3")
    earlier = SqliteStore(path)
    earlier.issue_grant(pair(1), NOW)
    earlier._db().execute("DROP TABLE replaced_access_tokens")
    store = SqliteStore(path)
    assert store.replace_access_token("g1", "a1-bis", NOW + timedelta(hours=1), NOW)
    assert store.replaced_access_token("a1").grant.id == "g1"


# -- Redis specifics ----------------------------------------------------------------------------
def test_two_sandboxes_share_one_redis_under_their_prefixes(redis_store, redis_server):
    store = redis_store
    neighbour = open_store(redis_server.url(prefix=store.prefix + "neighbour:"), "unused")
    try:
        for each in (store, neighbour):
            each.put_scenario("f", "name: x")
            each.issue_grant(pair(1), NOW)
        store.reset()
        assert list(store.grants()) == [] and [g.id for g in neighbour.grants()] == ["g1"]
        assert neighbour.get_scenario()[0] == 1
    finally:
        redis_server.delete_prefix(neighbour.prefix)


def test_journal_is_a_capped_list(redis_store):
    from mock_aspsp.store.redis import RedisStore

    capped = RedisStore(redis_store.client, redis_store.prefix, journal_limit=5)
    for n in range(12):
        capped.record({"n": n})
    assert [e["n"] for e in capped.journal()] == [7, 8, 9, 10, 11]
    assert capped.client.llen(capped.prefix + "s:journal") == 5


def test_expiry_is_the_mock_clocks_and_ttls_only_clean_up(redis_store):
    store = redis_store
    store.put_code("old", {}, NOW - timedelta(days=400))  # expired long ago in mock time
    key_ttl, day_ms = store.client.pttl, 86_400_000
    assert day_ms - 60_000 < key_ttl(store.prefix + "s:code:" + token_hash("old")) <= day_ms  # kept a day: replays
    assert store.code("old").expires_at == NOW - timedelta(days=400)  # the mock's clock decides it is expired
    now = datetime.now(timezone.utc)
    store.issue_grant(dataclasses.replace(pair(1), issued_at=now, refresh_expires_at=now + timedelta(days=180)), now)
    store.replace_access_token("g1", "a1-bis", now + timedelta(hours=1), now)
    for key in ("s:g:g1", "s:access:" + token_hash("a1-bis"), "s:refresh:" + token_hash("r1"),
                "s:replaced:" + token_hash("a1")):  # a replaced access token is kept as long as its pair
        assert 181 * day_ms - 60_000 < key_ttl(store.prefix + key) <= 181 * day_ms  # refresh lifetime + a day
    assert store.client.exists(store.prefix + "s:access:" + token_hash("a1")) == 0


def test_an_unreachable_redis_raises_store_unavailable():
    from mock_aspsp.testing import free_port

    nowhere = open_store(f"redis://127.0.0.1:{free_port()}/0", "unused")
    for call in (nowhere.sync_state, lambda: nowhere.redeem_code("c", NOW), lambda: list(nowhere.grants()),
                 lambda: nowhere.rule_fires("r", lambda m, f: True), lambda: nowhere.record({})):
        with pytest.raises(StoreUnavailable, match="Redis at redis://127.0.0.1"):
            call()


def test_store_urls(tmp_path):
    assert isinstance(open_store(None, str(tmp_path / "a.db")), SqliteStore)
    assert open_store(f"sqlite://{tmp_path}/b.db", "unused").path == f"{tmp_path}/b.db"
    with pytest.raises(ValueError, match="expected redis://"):
        open_store("mysql://db/x", "unused")
    assert describe_store("redis://:s3cret@cache:6379/0?prefix=a:", "x") == "redis://:***@cache:6379/0?prefix=a:"
    assert describe_store(None, "/tmp/state.sqlite3") == "/tmp/state.sqlite3"
    from mock_aspsp.store.redis import split_url

    assert split_url("redis://h:1/2?prefix=team-a:&socket_timeout=3") == ("redis://h:1/2?socket_timeout=3", "team-a:")
    assert split_url("redis://h:1/2") == ("redis://h:1/2", "mock-aspsp:")


# -- a server starting on a store that already holds a scenario -------------------------------------
def scenario_text(name: str) -> str:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["name"] = name
    return yaml.safe_dump(document, allow_unicode=True)


def start(store, tmp_path, name, publish=False):
    path = tmp_path / f"{name}.yaml"
    path.write_text(scenario_text(name), encoding="utf-8")
    scenario, text = read_scenario(path)
    return Sandbox(store, scenario, text, Clock(real=lambda: START), publish=publish)


def test_a_replica_with_the_same_file_adopts_the_stored_scenario(store, tmp_path):
    first = start(store, tmp_path, "world")
    store.rule_fires("r", lambda m, f: True)
    second = start(store, tmp_path, "world")
    assert store.get_scenario()[0] == 1 and store.rule_counters() == {"r": (1, 1)}  # no new version, counters kept
    assert first.snapshot().scenario.name == second.snapshot().scenario.name == "world"


def test_a_new_file_is_published_but_an_admin_swap_is_kept(store, tmp_path):
    first = start(store, tmp_path, "world")
    assert start(store, tmp_path, "redeployed").snapshot().scenario.name == "redeployed"  # file over file
    assert first.snapshot().scenario.name == "redeployed"
    first.swap_scenario(scenario_text("swapped"), ADMIN_SOURCE)
    joining = start(store, tmp_path, "world")
    assert joining.snapshot().scenario.name == "swapped" and first.snapshot().scenario.name == "swapped"
    forced = start(store, tmp_path, "world", publish=True)
    assert forced.snapshot().scenario.name == "world" and first.snapshot().scenario.name == "world"


def test_a_store_that_lost_the_scenario_gets_it_back(redis_store, tmp_path):
    store = redis_store
    sandbox = start(store, tmp_path, "world")
    store.client.delete(*store.client.keys(store.prefix + "*"))  # a Redis restarted empty
    assert sandbox.snapshot().scenario.name == "world"
    assert store.get_scenario()[0] == 1 and "name: world" in store.get_scenario()[2]


def test_serve_refuses_to_start_without_its_redis(capsys):
    from mock_aspsp.tools.cli import main
    from mock_aspsp.testing import free_port

    assert main(["serve", "--store", f"redis://127.0.0.1:{free_port()}/0"]) == 2
    assert "state store: Redis at redis://127.0.0.1" in capsys.readouterr().err
    assert main(["serve", "--store", "memcached://x"]) == 2
    assert "expected redis://" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_each_store_is_the_store_interface_exactly(backend):
    """Both backends satisfy ``Store``, method by method with the same parameters, and offer nothing more:
    a method added to one store is added to the interface, and so to the other."""
    import inspect

    from mock_aspsp.store.interface import Store
    from mock_aspsp.store.redis import RedisStore

    cls = {"sqlite": SqliteStore, "redis": RedisStore}[backend]

    def methods(owner):
        return {name: inspect.signature(member) for name, member in vars(owner).items()
                if callable(member) and not name.startswith("_") and name != "from_url"}

    expected, offered = methods(Store), methods(cls)
    assert sorted(offered) == sorted(expected)
    for name, signature in expected.items():
        parameters = offered[name].parameters.values()
        assert [(p.name, p.kind, p.default) for p in parameters] == \
            [(p.name, p.kind, p.default) for p in signature.parameters.values()], name


def test_the_stores_opened_are_instances_of_the_interface(tmp_path, redis_server):
    """Their attributes too (``journal_limit``), which the method comparison does not see."""
    from mock_aspsp.store.interface import Store

    assert isinstance(open_store(None, str(tmp_path / "a.db")), Store)
    assert isinstance(open_store(redis_server.url(prefix="interface-check:"), "unused"), Store)


def test_concurrent_clock_advances_all_count(store):
    """Two CI jobs moving the clock at once must not lose a move (read-then-write would)."""
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: store.advance_clock(timedelta(hours=1), lambda offset: offset), range(20)))
    assert store.sync_state().clock_offset == timedelta(hours=20)


def test_a_refused_clock_advance_changes_nothing(store):
    store.set_clock_offset(timedelta(days=1))

    def refuse(offset):
        raise ValueError("out of range")

    with pytest.raises(ValueError):
        store.advance_clock(timedelta(days=1), refuse)
    assert store.sync_state().clock_offset == timedelta(days=1)


# -- PSU lock-out --------------------------------------------------------------------------------
LOCKOUT = (5, timedelta(minutes=15))


def test_parallel_attempts_of_one_login_are_each_counted_once(store):
    found = at_once(lambda i: store.psu_attempt("30007", "alice", NOW, *LOCKOUT))
    counted = sorted(f.failures for f in found if f.locked_until is None)
    assert counted == [1, 2, 3, 4, 5]  # five may be checked; the other fifteen find the login locked
    assert all(f.locked_until == NOW + LOCKOUT[1] for f in found if f.locked_until is not None)
    assert store.psu_failures("30007", "alice", NOW) == (5, NOW + LOCKOUT[1])


def test_a_right_password_uncounts_its_attempt_and_an_authentication_clears(store):
    for _ in range(3):
        store.psu_attempt("30007", "alice", NOW, *LOCKOUT)
    store.psu_attempt_passed("30007", "alice")
    assert store.psu_failures("30007", "alice", NOW)[0] == 2
    store.clear_psu_failures("30007", "alice")
    assert store.psu_failures("30007", "alice", NOW) == (0, None)
    store.psu_attempt("30007", "alice", NOW, *LOCKOUT)
    store.psu_attempt_passed("30007", "alice")
    assert store.psu_failures("30007", "alice", NOW) == (0, None)


def test_lock_out_counts_are_per_bank_and_login_and_expire_on_the_given_clock(store):
    store.lock_psu("30007", "alice", NOW, *LOCKOUT)
    assert store.psu_attempt("30007", "alice", NOW + timedelta(minutes=14), *LOCKOUT).locked_until is not None
    assert store.psu_attempt("13807", "alice", NOW, *LOCKOUT).failures == 1
    assert store.psu_attempt("30007", "x" * 100_000, NOW, *LOCKOUT).failures == 1  # any text, a bounded key
    later = store.psu_attempt("30007", "alice", NOW + timedelta(minutes=15), *LOCKOUT)
    assert (later.failures, later.locked_until) == (1, None)
    store.reset()
    assert store.psu_failures("30007", "alice", NOW) == (0, None)


def test_whether_any_conformance_plan_exists_comes_with_the_sync_state(tmp_path, store_url):
    """Every request reads ``sync_state`` anyway: with no plan stored, no request looks one up. A plan started
    through another connection (a worker, a replica) shows at the reader's next sync, and a reset ends it."""
    writer, reader = (open_store(store_url, str(tmp_path / "state.sqlite3")) for _ in range(2))
    assert reader.sync_state().conformance_plans is False
    writer.put_plan("PSDFR-ACPR-12345", {"id": "p1", "current": 0})
    assert reader.sync_state().conformance_plans is True
    assert reader.update_plan("PSDFR-ACPR-12345", {"id": "p1", "current": 0}, {"id": "p1", "current": 1})
    assert not writer.update_plan("PSDFR-ACPR-12345", {"id": "p1", "current": 0}, {"id": "p1", "current": 2})
    assert writer.plan("PSDFR-ACPR-12345") == {"id": "p1", "current": 1} and writer.plan("PSDFR-ACPR-99999") is None
    writer.reset()
    assert reader.sync_state().conformance_plans is False and reader.plan("PSDFR-ACPR-12345") is None
