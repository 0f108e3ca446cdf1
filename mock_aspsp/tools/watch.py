"""``mock-aspsp serve --watch``: reload the scenario file when it changes.

The same rules as ``PUT /__admin/scenario``: the new file is validated whole
first; a bad one is reported and the running scenario stays in force; a good
one is published through the store, so every worker swaps on its next request.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Optional

from ..bank.scenario import ScenarioError
from ..sandbox import Sandbox

log = logging.getLogger("mock_aspsp.watch")
INTERVAL_S = 1.0


def _signature(path: Path) -> Optional[tuple[float, int]]:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime, stat.st_size


def reload_if_changed(sandbox: Sandbox, path: Path, seen: Optional[tuple[float, int]]) -> Optional[tuple[float, int]]:
    """One look at the file; returns what was seen, for the next look."""
    current = _signature(path)
    if current is None or current == seen:
        return current if current is not None else seen
    try:
        scenario = sandbox.swap_scenario(path.read_text(encoding="utf-8"), str(path))
    except (ScenarioError, OSError, UnicodeDecodeError) as error:
        problems = error.problems if isinstance(error, ScenarioError) else [error]
        log.error("scenario %s changed but is refused; the current one stays in force:\n%s",
                  path, "\n".join(str(p) for p in problems))
    else:
        log.warning("scenario reloaded from %s (%s)", path, scenario.name)
    return current


def start_watching(sandbox: Sandbox, path: Path) -> threading.Event:
    """Watch in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        seen = _signature(path)
        while not stop.wait(INTERVAL_S):
            seen = reload_if_changed(sandbox, path, seen)

    threading.Thread(target=loop, name="scenario-watch", daemon=True).start()
    return stop
