"""``serve --watch`` on a real server: a changed file reaches every worker; a bad one changes nothing."""
import time

import pytest
import requests
import yaml

from mock_aspsp.resources import default_scenario
from served_process import served_process

pytestmark = pytest.mark.e2e
RELOAD_LIMIT_S = 15


def scenario_named(name):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["name"] = name
    return yaml.safe_dump(scenario, allow_unicode=True)


def names_seen(url, count=6):
    return {requests.get(f"{url}/__admin/health", headers={"Connection": "close"}).json()["scenario"]
            for _ in range(count)}


def wait_for_name(url, name):
    deadline = time.monotonic() + RELOAD_LIMIT_S
    while time.monotonic() < deadline:
        if names_seen(url) == {name}:
            return True
        time.sleep(0.2)  # polling for the watcher's reload, bounded
    return False


def test_watch_reloads_good_files_and_keeps_the_world_on_bad_ones(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text(scenario_named("first"))
    with served_process(tmp_path, "--scenario", str(path), "--watch") as server:
        assert names_seen(server.url) == {"first"}
        path.write_text(scenario_named("second"))
        assert wait_for_name(server.url, "second")
        path.write_text("banks: [\n")
        deadline = time.monotonic() + RELOAD_LIMIT_S
        while "refused" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "refused" in server.log_text()
        assert names_seen(server.url) == {"second"}
