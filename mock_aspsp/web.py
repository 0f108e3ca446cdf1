"""Per-request helpers shared by the blueprints."""
from __future__ import annotations

from typing import Optional

from flask import current_app, g, request

from .establishment import bank_code_from_host
from .sandbox import Sandbox, Snapshot
from .scenario import Scenario


def sandbox() -> Sandbox:
    return current_app.extensions["mock_aspsp"]


def snapshot() -> Snapshot:
    """Taken once per request, before any view runs (see ``app.create_app``)."""
    return g.snapshot


def requested_bank(scenario: Scenario) -> tuple[Optional[str], str]:
    """(bank code, code as asked): the code is None when the host names a bank the scenario lacks."""
    asked = bank_code_from_host(request.host) or scenario.default_bank
    return (asked if scenario.bank(asked) else None), asked
