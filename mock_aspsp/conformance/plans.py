"""A TPP's conformance plan: its active modules, run in order on its next journeys and calls.

The plan lives in the store (``put_plan``, ``update_plan``), so every worker and
replica sees one plan, and a module fires once however many workers race for
it (compare and set). The next module is armed once the current one's verdict
is known, from the journal: a misbehaviour never hides the TPP's reaction to the
previous one.
"""
from __future__ import annotations

import secrets
from typing import Optional

from ..formats.quoting import quoted
from ..store.interface import Store
from .modules import MODULES
from .traffic import NOT_RUN, Verdict, of_client, observed


def plan_problems(body: dict, known: frozenset[str]) -> list[str]:
    """What is wrong with a ``POST /__admin/conformance/plans`` body, each problem with its field (``known``:
    the client_ids of the scenario's TPPs and of the registered clients)."""
    problems = [f"{name}: unknown field; allowed: client_id, modules" for name in sorted(set(body) - {"client_id", "modules"})]
    client_id, modules = body.get("client_id"), body.get("modules")
    if not isinstance(client_id, str) or not client_id:
        problems.append("client_id: the TPP's client_id (a string) is required")
    elif client_id not in known:
        problems.append(f"client_id: no TPP {quoted(client_id)} in the scenario or registered")
    if not isinstance(modules, list) or not modules:
        problems.append(f"modules: a non-empty list of module ids, among {', '.join(MODULES)}")
        return problems
    for index, name in enumerate(modules):
        if not isinstance(name, str) or name not in MODULES:  # a list or object is no name (nor hashable)
            problems.append(f"modules[{index}]: unknown module {str(name)[:60]!r}; known: {', '.join(MODULES)}")
        elif modules.index(name) != index:
            problems.append(f"modules[{index}]: {name} is already in the plan (each module runs once)")
    return problems


def new_plan(client_id: str, modules: list[str]) -> dict:
    return {"id": secrets.token_hex(6), "client_id": client_id, "modules": list(modules), "current": 0,
            "fired": 0}  # how often the current module fired


def _marker(plan: dict, module: str) -> dict:
    return {"plan": plan["id"], "module": module}


def verdicts(plan: dict, journal: list[dict]) -> list[tuple[str, Verdict]]:
    """(module id, verdict) of every module of the plan, in order."""
    entries = of_client(journal, plan["client_id"])
    result = []
    for module in plan["modules"]:
        marker = _marker(plan, module)
        index = next((i for i, e in enumerate(entries) if observed(e).get("module") == marker), None)
        if index is None:
            waiting = "armed: waiting for the TPP's next " + MODULES[module].trigger
            position = plan["modules"].index(module)
            result.append((module, Verdict(NOT_RUN, waiting if position == plan["current"] else "not reached yet")))
        else:
            result.append((module, MODULES[module].judge(entries[index], entries[index + 1:])))
    return result


def fire(store: Store, client_id: str, trigger: str) -> Optional[dict]:
    """The module that misbehaves on this request of the TPP (its marker for the journal), or None.

    A module whose verdict is known makes way for the next one first."""
    plan = store.plan(client_id)
    if plan is None or plan["current"] >= len(plan["modules"]):
        return None
    module = plan["modules"][plan["current"]]
    if plan["fired"] >= MODULES[module].fires:
        verdict = dict(verdicts({**plan, "modules": [module]}, store.journal()))[module]
        if verdict.status == NOT_RUN:
            return None
        moved = {**plan, "current": plan["current"] + 1, "fired": 0}
        if not store.update_plan(client_id, plan, moved) or moved["current"] >= len(plan["modules"]):
            return None
        plan, module = moved, moved["modules"][moved["current"]]
    if MODULES[module].trigger != trigger or not store.update_plan(client_id, plan,
                                                                    {**plan, "fired": plan["fired"] + 1}):
        return None
    return _marker(plan, module)
