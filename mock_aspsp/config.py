"""Settings of one server, from the command line or the environment.

The environment names (``MOCK_ASPSP_*``) let a container be configured
without changing its command.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from .resources import default_scenario


@dataclass(frozen=True)
class Config:
    scenario: Path
    db: Path
    admin_token: Optional[str] = None


def from_environment(
    env: Mapping[str, str] = os.environ, *, scenario: Optional[str] = None, db: Optional[str] = None
) -> Config:
    """Explicit arguments win over ``MOCK_ASPSP_SCENARIO`` / ``MOCK_ASPSP_DB``; a fresh temporary DB otherwise."""
    scenario_path = scenario or env.get("MOCK_ASPSP_SCENARIO") or str(default_scenario())
    db_path = db or env.get("MOCK_ASPSP_DB") or str(Path(tempfile.mkdtemp(prefix="mock-aspsp-")) / "state.sqlite3")
    return Config(
        scenario=Path(scenario_path),
        db=Path(db_path),
        admin_token=env.get("MOCK_ASPSP_ADMIN_TOKEN") or None,
    )
