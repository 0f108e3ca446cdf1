"""A full disk (or a full Redis) is the documented 503 in each audience's shape, and the sandbox
recovers by itself once there is room again.

The attack run: with the SQLite file on a full disk, /authorize, refresh and the admin clock
answered 500 (``database or disk is full``). SQLite's ``max_page_count`` makes the state file
really full; ``FullDisk`` makes every write of the store's connection fail as a full disk does
(for writes that would not grow the file, such as an UPDATE in place); Redis is filled by a
``maxmemory`` below what it holds (``noeviction``: writes refused, reads answered), which today's
code already answered with 503s (its errors are ``StoreUnavailable``): kept as a guard.
"""
from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.resources import default_scenario
from mock_aspsp.store import journal_files
from mock_aspsp.store.records import StoreUnavailable
from support import (START, TppDriver, assert_error_model, assert_error_page, assert_oauth_error, headless_tokens,
                     portal_body)

BRUNO_IBAN = "FR7630007000020009876540145"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")


class FullDisk:
    """The store's SQLite connection, whose writes fail as on a full disk."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith(WRITES):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


@pytest.fixture
def sqlite_app(tmp_path):
    return create_app(Config(scenario=Path(default_scenario()), db=tmp_path / "state.sqlite3"), Clock(real=lambda: START))


@pytest.fixture
def full(sqlite_app):
    """Fill the disk (``full.on()``) and empty it (``full.off()``)."""
    store = sqlite_app.extensions["mock_aspsp"].store

    class Switch:
        def on(self):
            store._db()
            store._local.db = FullDisk(store._local.db)

        def off(self):
            store._local.db = store._local.db.db

    return Switch()


def answers_while_full(tpp, tokens):
    """(authorize, sca step, exchange, refresh, admin clock, admin reset, API call) during the outage."""
    client = tpp.client
    return [
        ("/authorize", tpp.start()),
        ("/token", tpp.refresh(tokens["refresh_token"])),
        ("/__admin/clock", client.post("/__admin/clock", json={"advance": "PT1H"})),
        ("/__admin/reset", client.post("/__admin/reset")),
        ("/__admin/accounts", client.patch(f"/__admin/accounts/{BRUNO_IBAN}", json={"balance": "1"})),
    ]


def assert_503_in_its_shape(path, response):
    if path == "/authorize":
        assert "Service indisponible" in assert_error_page(response, 503)
    elif path == "/token":
        assert_oauth_error(response, 503, "temporarily_unavailable")
    else:
        assert_error_model(response, 503)


def test_sqlite_writes_on_a_full_disk_are_503s_and_recover(sqlite_app, full):
    tpp = TppDriver(sqlite_app.test_client())
    tokens = headless_tokens(tpp, "bruno")
    full.on()
    for path, response in answers_while_full(tpp, tokens):
        assert_503_in_its_shape(path, response)
    # A read needs no room: the API still answers, from what is stored.
    answer = tpp.confirm(tokens["access_token"], body=portal_body("10", BRUNO_IBAN))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    full.off()
    assert tpp.start().status_code == 303
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    assert tpp.client.post("/__admin/clock", json={"advance": "PT1H"}).status_code == 200


def test_a_failed_commit_leaves_no_transaction_open(sqlite_app):
    """COMMIT itself can find the disk full: the transaction is rolled back, the next one works."""
    store = sqlite_app.extensions["mock_aspsp"].store
    store._db()
    real = store._local.db

    class FullAtCommit(FullDisk):
        def execute(self, sql, *args):
            if sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.execute(sql, *args)

    store._local.db = FullAtCommit(real)
    with pytest.raises(StoreUnavailable):
        store.put_journey("j1", {"a": 1})
    store._local.db = real
    assert not real.in_transaction
    assert store.get_journey("j1") is None
    store.put_journey("j2", {"a": 2})
    assert store.get_journey("j2") == {"a": 2}


def test_sqlite_state_file_really_full(sqlite_app):
    """SQLite's own limit on the file's pages: the very error a full disk gives, then room again."""
    store = sqlite_app.extensions["mock_aspsp"].store
    tpp = TppDriver(sqlite_app.test_client())
    db = store._db()
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    statuses = []
    for _ in range(300):  # each journey stores a row: the last page fills within a few dozen
        statuses.append(tpp.start().status_code)
        if statuses[-1] != 303:
            break
    assert statuses[-1] == 503 and set(statuses[:-1]) <= {303}, statuses
    db.execute("PRAGMA max_page_count = 1073741823")
    assert tpp.start().status_code == 303


def test_a_journal_write_on_a_full_disk_loses_only_its_entry(sqlite_app, monkeypatch, caplog):
    tpp = TppDriver(sqlite_app.test_client())
    tokens = headless_tokens(tpp, "bruno")

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_files.os, "write", no_space)
    answer = tpp.confirm(tokens["access_token"], body=portal_body("10", BRUNO_IBAN), request_id="lost")
    assert answer.status_code == 200
    assert "No space left on device" in caplog.text
    monkeypatch.undo()
    tpp.confirm(tokens["access_token"], body=portal_body("10", BRUNO_IBAN), request_id="kept")
    ids = [e["x_request_id"] for e in tpp.client.get("/__admin/requests").get_json()["requests"]]
    assert "kept" in ids and "lost" not in ids


def test_a_full_disk_at_start_is_a_clear_error(tmp_path, monkeypatch):
    """The state file cannot even get its tables: StoreUnavailable (serve says so and exits 2)."""
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        return FullDisk(real_connect(*args, **kwargs))

    monkeypatch.setattr("mock_aspsp.store.sqlite.sqlite3.connect", connect)
    monkeypatch.setattr(FullDisk, "executescript", lambda self, script: (_ for _ in ()).throw(
        sqlite3.OperationalError("database or disk is full")), raising=False)
    with pytest.raises(StoreUnavailable):
        create_app(Config(scenario=Path(default_scenario()), db=tmp_path / "state.sqlite3"))


# -- Redis full: maxmemory below what it holds, no eviction --------------------------------------
@pytest.fixture
def redis_app(redis_server, tmp_path):
    import uuid

    prefix = f"full-{uuid.uuid4().hex[:12]}:"
    app = create_app(Config(scenario=Path(default_scenario()), db=tmp_path / "unused.sqlite3",
                            store=redis_server.url(prefix=prefix)), Clock(real=lambda: START))
    yield app
    redis_server.delete_prefix(prefix)


def test_redis_full_is_503s_and_recovers(redis_app, redis_server):
    tpp = TppDriver(redis_app.test_client())
    tokens = headless_tokens(tpp, "bruno")
    client = redis_server.client()
    policy = client.config_get("maxmemory-policy")["maxmemory-policy"]
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1")
    try:
        answers = answers_while_full(tpp, tokens)
        for path, response in answers:
            # A Lua script whose first write frees memory (DEL) is let through by Redis whole, so a refresh
            # may still succeed: never half-written, never a 500.
            if response.status_code < 400:
                continue
            assert_503_in_its_shape(path, response)
        assert answers[0][1].status_code == 503  # a journey is a plain SET: refused
    finally:
        client.config_set("maxmemory", "0")
        client.config_set("maxmemory-policy", policy)
    assert tpp.start().status_code == 303
    fresh = headless_tokens(tpp, "bruno")  # (the reset, which only deletes, went through)
    assert tpp.refresh(fresh["refresh_token"]).status_code == 200
