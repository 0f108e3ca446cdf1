"""Go-live readiness in the admin API: the report and the plans under ``/__admin/conformance``.

The routes are the admin blueprint's, so they are protected exactly as every
other admin route. The report is computed from the store (journal and plan) on
each call: every worker answers the same, and ``POST /__admin/reset`` clears it.
"""
from __future__ import annotations

from flask import Response, jsonify, render_template, request

from .. import __version__
from ..bank.clock import isoformat
from ..conformance import plans, report
from ..conformance.modules import MODULES
from .admin import Refused, _json_object, blueprint
from .errors import ApiError
from .web import sandbox, snapshot

FORMATS = ("json", "junit", "html")


def _client_id() -> str:
    client_id = request.args.get("client_id", "")
    if not client_id:
        raise ApiError(400, "client_id: name the TPP, e.g. ?client_id=PSDFR-ACPR-12345")
    if snapshot().scenario.tpp(client_id) is None:
        raise ApiError(404, f"no TPP with client_id {client_id[:64]!r} in the scenario")
    return client_id


@blueprint.get("/conformance")
def conformance_report() -> Response:
    client_id = _client_id()
    wanted = request.args.get("format", "json")
    if wanted not in FORMATS:
        raise ApiError(400, f"format: one of {', '.join(FORMATS)}")
    scenario, store = snapshot().scenario, sandbox().store
    about = {"generated_at": isoformat(snapshot().now), "scenario": scenario.name, "sandbox_version": __version__}
    built = report.build(store.journal(), client_id, store.plan(client_id), about)
    if wanted == "junit":
        return Response(report.junit(built), 200, content_type="application/xml; charset=utf-8")
    if wanted == "html":
        tpp = scenario.tpp(client_id)
        page = render_template("conformance_report.html", report=built, tpp=tpp,
                               bank=scenario.bank(scenario.default_bank))
        return Response(page, 200, content_type="text/html; charset=utf-8")
    return jsonify(built)


@blueprint.post("/conformance/plans")
def start_plan() -> Response:
    """Run these modules, in order, on the TPP's next journeys and calls (a new plan replaces its last)."""
    body = _json_object()
    problems = plans.plan_problems(body, frozenset(t.client_id for t in snapshot().scenario.tpps))
    if problems:
        raise Refused("conformance plan refused", problems)
    plan = plans.new_plan(body["client_id"], body["modules"])
    sandbox().store.put_plan(plan["client_id"], plan)
    return jsonify({"plan": plan["id"], "client_id": plan["client_id"],
                    "modules": [{"id": m, "title": MODULES[m].title, "trigger": MODULES[m].trigger}
                                for m in plan["modules"]]}), 201
