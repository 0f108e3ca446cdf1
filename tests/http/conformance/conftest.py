"""The go-live tests' world: a scenario of their own and an injected real-time clock (the Retry-After rules
judge real time), for every test of this folder."""
from __future__ import annotations

import pytest

from conformance_world import RealClock, make_app, world


@pytest.fixture
def clock():
    return RealClock()


@pytest.fixture
def scenario_path(tmp_path):
    return world(tmp_path)


@pytest.fixture
def app(tmp_path, scenario_path, store_url, clock):
    return make_app(tmp_path, scenario_path, store_url, clock)
