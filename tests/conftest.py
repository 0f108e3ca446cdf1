"""Shared fixtures: an app on a fixed clock, its test client, and a TPP that drives the journey.

Tests never sleep: they move the mock's clock (``advance``) as QA would. What tests share besides
fixtures is in ``support``.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.resources import default_scenario
from support import START, TppDriver


@pytest.fixture
def scenario_path():
    return default_scenario()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the session (no persistence); tests keep to their own key prefix."""
    from redis_server import MISSING, RedisServer, find_redis_server

    if find_redis_server() is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_backend(request):
    """Every test using the app or the store runs once per store implementation."""
    return request.param


@pytest.fixture
def store_url(store_backend, request):
    """``Config.store`` for the backend: None (SQLite under tmp_path), or the session Redis under a key
    prefix of this test's own, deleted afterwards."""
    if store_backend == "sqlite":
        yield None
        return
    import uuid

    server = request.getfixturevalue("redis_server")
    prefix = f"test-{uuid.uuid4().hex[:16]}:"
    yield server.url(prefix=prefix)
    server.delete_prefix(prefix)


@pytest.fixture
def app(tmp_path, scenario_path, store_url):
    config = Config(scenario=Path(scenario_path), db=tmp_path / "state.sqlite3", store=store_url)
    return create_app(config, Clock(real=lambda: START))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["mock_aspsp"].store


@pytest.fixture
def advance(store):
    """Move the mock's clock forward, as ``POST /__admin/clock {"advance": ...}`` does."""
    moved = timedelta()

    def move(delta: timedelta) -> None:
        nonlocal moved
        moved += delta
        store.set_clock_offset(moved)

    return move


@pytest.fixture
def tpp(client):
    return TppDriver(client)


@pytest.fixture
def served(tmp_path):
    """A real ``mock-aspsp serve`` (two workers) on a free port, stopped by SIGTERM afterwards."""
    from served_process import served_process

    with served_process(tmp_path) as server:
        yield server


@pytest.fixture
def other_browser(app):
    """A second browser (its own cookie jar) on the same server."""
    return app.test_client()
