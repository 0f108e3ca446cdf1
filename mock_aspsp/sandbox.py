"""The sandbox backend as one object: store, clock and the current scenario.

This is what the HTTP layer talks to (as moto's backends are). The scenario
is cached per process and re-read only when the store says another worker or
replica swapped it, so a swap reaches every worker on its next request.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from .clock import Clock
from .faults import FaultRule, runtime_rules
from .scenario import Scenario, parse_scenario
from .store import SqliteStore


@dataclass(frozen=True)
class Snapshot:
    """What one request sees: the mock's time and the scenario in force."""

    now: datetime
    scenario: Scenario
    rules: tuple[FaultRule, ...]  # the scenario's fault rules, then those added at run time


class Sandbox:
    def __init__(self, store: SqliteStore, scenario: Scenario, scenario_text: str, clock: Clock = Clock()):
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._version = store.put_scenario(scenario.source, scenario_text)
        self._scenario = scenario

    def snapshot(self) -> Snapshot:
        """One read of shared state per request: clock offset and scenario version."""
        state = self.store.sync_state()
        if state.scenario_version != self._version:
            with self._lock:
                version, source, text = self.store.get_scenario()
                self._scenario, self._version = parse_scenario(text, source), version
        scenario = self._scenario
        return Snapshot(self.clock.at(state.clock_offset), scenario, scenario.rules + runtime_rules(state.runtime_rules))

    def swap_scenario(self, text: str, source: str) -> Scenario:
        """Validate first (raises ScenarioError and changes nothing), then publish to every worker."""
        scenario = parse_scenario(text, source)
        with self._lock:
            self._version = self.store.put_scenario(source, text)
            self._scenario = scenario
        return scenario
