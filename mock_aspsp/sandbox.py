"""The sandbox backend as one object: store, clock and the current scenario.

This is what the HTTP layer talks to (as moto's backends are). The scenario
is cached per process and re-read only when the store says another worker or
replica swapped it, so a swap reaches every worker on its next request.

At start the store may already hold a scenario: a shared store (Redis) that
other replicas serve, or a SQLite file kept across restarts. The rule:

* nothing stored, or a scenario loaded from a *file* that differs from ours:
  publish ours (a restart or a redeploy with a new file takes effect);
* exactly our text: adopt it, with no new version (the fault rules' counters of
  the running replicas are not reset by a replica joining);
* a scenario swapped in with ``PUT /__admin/scenario``: it stays in force (a
  replica starting or restarting must not undo the admin's swap on the
  others), with a warning, unless ``publish`` (``serve --publish-scenario``).

If the store loses the scenario while serving (a Redis restarted empty), the
next request publishes the one this process serves again.

A scenario's ``conformance`` plans are part of its initial state: started
whenever it is published (a new version, not a replica adopting it: that would
restart the plans in progress) and after each reset.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from .bank.clock import Clock
from .bank.faults import FaultRule, runtime_rules
from .bank.scenario import Scenario, ScenarioError, parse_scenario
from .conformance.plans import new_plan
from .store.interface import Store
from .store.records import StoreUnavailable

log = logging.getLogger("mock_aspsp")

ADMIN_SOURCE = "PUT /__admin/scenario"  # the source of a scenario swapped in through the admin API


@dataclass(frozen=True)
class Snapshot:
    """What one request sees: the mock's time and the scenario in force."""

    now: datetime
    real: datetime  # the real time ``now`` was read at (the journal's Retry-After facts)
    scenario: Scenario
    rules: tuple[FaultRule, ...]  # the scenario's fault rules, then those added at run time
    conformance_plans: bool = False  # any TPP's conformance plan stored (``http.conformance`` asks)


class Sandbox:
    def __init__(self, store: Store, scenario: Scenario, scenario_text: str, clock: Clock = Clock(),
                 publish: bool = False):
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._scenario, self._text = scenario, scenario_text
        self._version = self._start(scenario, scenario_text, publish)

    def _start(self, scenario: Scenario, text: str, publish: bool) -> int:
        """The scenario version this process serves first (see the module's docstring for the rule)."""
        version, source, stored = self.store.get_scenario()
        if version and stored == text:
            return version
        if version and source == ADMIN_SOURCE and not publish:
            try:
                kept = parse_scenario(stored, source)
            except ScenarioError as error:
                log.warning("the stored scenario (version %d, swapped in with %s) no longer loads, publishing "
                            "%s instead:\n%s", version, source, scenario.source, "\n".join(map(str, error.problems)))
            else:
                log.warning("the store holds scenario %r (version %d) swapped in with %s: it stays in force, not "
                            "%s (serve --publish-scenario to publish the file instead)",
                            kept.name, version, source, scenario.source)
                self._scenario, self._text = kept, stored
                return version
        return self._publish(scenario, text)

    def _publish(self, scenario: Scenario, text: str) -> int:
        """Store a scenario as the one in force, and start its conformance plans."""
        version = self.store.put_scenario(scenario.source, text)
        self._start_plans(scenario)
        return version

    def _start_plans(self, scenario: Scenario) -> None:
        for plan in scenario.conformance:
            self.store.put_plan(plan.client_id, new_plan(plan.client_id, list(plan.modules)))

    def reset(self) -> None:
        """Back to the scenario's initial state (``store.reset``), its conformance plans started again."""
        self.store.reset()
        self._start_plans(self._scenario)

    def snapshot(self) -> Snapshot:
        """One read of shared state per request: clock offset and scenario version."""
        state = self.store.sync_state()
        if state.scenario_version != self._version:
            with self._lock:
                version, source, text = self.store.get_scenario()
                if not version:  # the store lost its scenario (a Redis restarted empty): publish ours again
                    self._version = self._publish(self._scenario, self._text)
                elif version != self._version:
                    self._scenario, self._text, self._version = parse_scenario(text, source), text, version
        scenario = self._scenario
        self.store.journal_limit = scenario.settings.journal_size  # follows swaps; an attribute, no I/O
        real = self.clock.real()
        return Snapshot(real + state.clock_offset, real, scenario, scenario.rules + runtime_rules(state.runtime_rules),
                        state.conformance_plans)

    def catch_up(self) -> None:
        """Load the scenario in force now, if another process swapped it: called in the master before
        it forks a worker, so a worker (re)spawned after a swap is born with it and never parses it itself."""
        try:
            self.snapshot()
        except (StoreUnavailable, ScenarioError) as error:  # the worker will try on its first request
            log.warning("could not load the scenario in force before starting a worker: %s", error)

    def swap_scenario(self, text: str, source: str) -> Scenario:
        """Validate first (raises ScenarioError and changes nothing), then publish to every worker."""
        scenario = parse_scenario(text, source)
        with self._lock:
            self._version = self._publish(scenario, text)
            self._scenario, self._text = scenario, text
        return scenario
