"""Go-live readiness in the admin API: the report and the plans under ``/__admin/conformance``.

The routes are the admin blueprint's, so they are protected exactly as every
other admin route. The report is computed from the store (journal and plan) on
each call: every worker answers the same, and ``POST /__admin/reset`` clears it.
A TPP is the scenario's or a client registered through the registration API
(``registry.effective_tpp``): both get a report and plans. As in ``admin``, each
action is a plain function the JSON views and the QA console (``console``) share.
"""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request

from .. import __version__
from ..bank.clock import isoformat
from ..conformance import plans, report
from ..conformance.modules import MODULES
from ..formats.quoting import quoted
from ..tpp.registry import effective_tpp
from .admin import Refused, _json_object, blueprint
from .errors import ApiError
from .web import sandbox, snapshot

FORMATS = ("json", "junit", "html")


def conformance_tpps() -> list[Any]:
    """Every TPP a report or a plan may name, as the bank sees it now: the scenario's, then the registered
    clients, oldest first."""
    scenario, store = snapshot().scenario, sandbox().store
    client_ids = [t.client_id for t in scenario.tpps]
    client_ids += [d["client_id"] for d in store.registrations() if d["client_id"] not in client_ids]
    return [tpp for tpp in (effective_tpp(scenario, store, c) for c in client_ids) if tpp is not None]


def _tpp(client_id: str) -> Any:
    if not client_id:
        raise ApiError(400, "client_id: name the TPP, e.g. ?client_id=PSDFR-ACPR-12345")
    tpp = effective_tpp(snapshot().scenario, sandbox().store, client_id)
    if tpp is None:
        raise ApiError(404, f"no TPP with client_id {quoted(client_id, 64)} in the scenario or registered")
    return tpp


def conformance_report(client_id: str) -> dict:
    """The TPP's go-live report: every check and module with its verdict and evidence."""
    _tpp(client_id)
    scenario, store = snapshot().scenario, sandbox().store
    about = {"generated_at": isoformat(snapshot().now), "scenario": scenario.name, "sandbox_version": __version__}
    return report.build(store.journal(), client_id, store.plan(client_id), about)


def report_document(client_id: str, wanted: str) -> Response:
    """The report in one of ``FORMATS``: JSON, JUnit XML for CI, or the bank-styled HTML page."""
    if wanted not in FORMATS:
        raise ApiError(400, f"format: one of {', '.join(FORMATS)}")
    built = conformance_report(client_id)
    if wanted == "junit":
        return Response(report.junit(built), 200, content_type="application/xml; charset=utf-8")
    if wanted == "html":
        scenario = snapshot().scenario
        page = render_template("conformance_report.html", report=built, tpp=_tpp(client_id),
                               bank=scenario.bank(scenario.default_bank))
        return Response(page, 200, content_type="text/html; charset=utf-8")
    return jsonify(built)


def start_conformance_plan(body: dict) -> dict:
    """Run these modules, in order, on the TPP's next journeys and calls (a new plan replaces its last)."""
    problems = plans.plan_problems(body, frozenset(t.client_id for t in conformance_tpps()))
    if problems:
        raise Refused("conformance plan refused", problems)
    plan = plans.new_plan(body["client_id"], body["modules"])
    sandbox().store.put_plan(plan["client_id"], plan)
    return {"plan": plan["id"], "client_id": plan["client_id"],
            "modules": [{"id": m, "title": MODULES[m].title, "trigger": MODULES[m].trigger} for m in plan["modules"]]}


@blueprint.get("/conformance")
def conformance_view() -> Response:
    return report_document(request.args.get("client_id", ""), request.args.get("format", "json"))


@blueprint.post("/conformance/plans")
def start_plan() -> Response:
    return jsonify(start_conformance_plan(_json_object())), 201
