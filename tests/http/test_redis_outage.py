"""Redis going away mid-run: clear 503s in every audience's shape, then recovery with nothing half-written.

A redis-server of this module's own (not the session one), with an fsync-always
append-only file so that a stop and restart keep every acknowledged write.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.resources import default_scenario
from mock_aspsp.store.records import StoreUnavailable
from mock_aspsp.testing import free_port
from support import (START, TppDriver, assert_error_model, assert_error_page, assert_oauth_error, headless_code,
                     portal_body)

BRUNO_IBAN = "FR7630007000020009876540145"


@pytest.fixture
def redis(tmp_path):
    from redis_server import MISSING, RedisServer, find_redis_server

    if find_redis_server() is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path / "redis", persistent=True).start()
    yield server
    server.stop()


@pytest.fixture
def tpp(redis, tmp_path):
    config = Config(scenario=Path(default_scenario()), db=tmp_path / "unused.sqlite3", store=redis.url())
    return TppDriver(create_app(config, Clock(real=lambda: START)).test_client())


def test_requests_get_503_while_redis_is_away_and_succeed_when_it_returns(tpp, redis):
    spent = headless_code(tpp, "bruno")
    tokens = tpp.exchange(spent).get_json()
    pending = headless_code(tpp, "bruno", state="second")
    body = portal_body(amount="10.00", iban=BRUNO_IBAN)
    assert tpp.confirm(tokens["access_token"], body).status_code == 200

    redis.stop()
    assert_error_model(tpp.confirm(tokens["access_token"], body), 503, names="state store is unavailable")
    assert_oauth_error(tpp.exchange(pending), 503, "temporarily_unavailable")
    assert_oauth_error(tpp.refresh(tokens["refresh_token"]), 503, "temporarily_unavailable")
    assert "Service indisponible" in assert_error_page(tpp.start(login_hint="bruno"), 503)
    assert_error_model(tpp.client.get("/__admin/tokens"), 503)

    redis.start()  # same port, same append-only file: the client reconnects by itself
    assert tpp.confirm(tokens["access_token"], body).status_code == 200
    replay = assert_oauth_error(tpp.exchange(spent), 400, "invalid_grant")  # redeemed before: still redeemed
    assert "already used" in replay["error_description"]
    assert_error_model(tpp.confirm(tokens["access_token"], body), 401)  # and the replay revoked its pair
    fresh = tpp.exchange(pending)  # the outage did not burn the code it refused to exchange
    assert fresh.status_code == 200, fresh.get_json()
    assert tpp.confirm(fresh.get_json()["access_token"], body).get_json()["result"] is True


def test_a_server_cannot_start_without_its_redis(tmp_path):
    config = Config(scenario=Path(default_scenario()), db=tmp_path / "unused.sqlite3",
                    store=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable):
        create_app(config)
