"""Scenario hot reload: one look at the file at a time, no threads, no waiting."""
import os

import yaml

from mock_aspsp.bank.clock import Clock
from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.sandbox import Sandbox
from mock_aspsp.store import open_store
from mock_aspsp.tools.watch import reload_if_changed
from support import START


def write(path, name, mtime):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["name"] = name
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    os.utime(path, (mtime, mtime))


def test_a_changed_file_is_swapped_and_a_bad_one_is_refused(tmp_path, store_url):
    path = tmp_path / "world.yaml"
    write(path, "first", 1_000_000)
    scenario, text = read_scenario(path)
    sandbox = Sandbox(open_store(store_url, str(tmp_path / "s.db")), scenario, text, Clock(real=lambda: START))
    seen = reload_if_changed(sandbox, path, None)
    assert sandbox.snapshot().scenario.name == "first"

    assert reload_if_changed(sandbox, path, seen) == seen  # unchanged: nothing to do
    write(path, "second", 1_000_010)
    seen = reload_if_changed(sandbox, path, seen)
    assert sandbox.snapshot().scenario.name == "second"

    path.write_text("banks: [oops\n")
    os.utime(path, (1_000_020, 1_000_020))
    seen = reload_if_changed(sandbox, path, seen)
    assert sandbox.snapshot().scenario.name == "second"

    path.unlink()
    assert reload_if_changed(sandbox, path, seen) == seen
    assert sandbox.snapshot().scenario.name == "second"
