"""The go-live report of one TPP: every check and module with its verdict, as JSON and as JUnit XML.

Built from the journal and the TPP's plan (both in the store), so any worker
answers the same. The HTML page (``templates/conformance_report.html``) renders
the same dictionary.
"""
from __future__ import annotations

from typing import Optional
from xml.etree import ElementTree

from .checks import CHECKS
from .modules import MODULES
from .plans import verdicts
from .traffic import FAILED, STATUSES, Verdict, of_client


def _item(id: str, title: str, source: str, verdict: Verdict) -> dict:
    return {"id": id, "title": title, "source": source, "status": verdict.status, "detail": verdict.detail,
            "evidence": list(verdict.evidence)}


def build(journal: list[dict], client_id: str, plan: Optional[dict], about: dict) -> dict:
    """``about``: what the page shows of the sandbox (generated_at, scenario, sandbox_version)."""
    entries = of_client(journal, client_id)
    checks = [_item(c.id, c.title, c.source, c.judge(entries)) for c in CHECKS]
    modules = [_item(m, MODULES[m].title, MODULES[m].source, v) for m, v in (verdicts(plan, journal) if plan else [])]
    counts = {status: sum(1 for i in checks + modules if i["status"] == status) for status in STATUSES}
    return {
        "client_id": client_id,
        **about,
        "requests": len(entries),
        "summary": {**counts, "ready": counts[FAILED] == 0 and counts["passed"] > 0},
        "checks": checks,
        "modules": modules,
    }


def _evidence_text(item: dict) -> str:
    return "\n".join(f"{e['time']} {e['method']} {e['path']} -> {e['status']} (X-Request-ID {e['x_request_id'] or '-'})"
                     f": {e['note']}" for e in item["evidence"])


def junit(report: dict) -> str:
    """One testsuite per kind (checks, modules), one testcase per check or module: ``failure`` with the
    evidence when it failed, ``skipped`` when not run (a warning passes, its evidence in system-out)."""
    root = ElementTree.Element("testsuites", name=f"mock-aspsp go-live readiness {report['client_id']}")
    for kind in ("checks", "modules"):
        items = report[kind]
        suite = ElementTree.SubElement(root, "testsuite", name=f"{report['client_id']} {kind}",
                                       tests=str(len(items)),
                                       failures=str(sum(i["status"] == FAILED for i in items)),
                                       skipped=str(sum(i["status"] == "not-run" for i in items)),
                                       timestamp=report["generated_at"])
        for item in items:
            case = ElementTree.SubElement(suite, "testcase", classname=f"conformance.{kind}", name=item["id"])
            if item["status"] == FAILED:
                failure = ElementTree.SubElement(case, "failure", message=f"{item['title']}: {item['detail']}",
                                                 type=item["id"])
                failure.text = _evidence_text(item)
            elif item["status"] == "not-run":
                ElementTree.SubElement(case, "skipped", message=item["detail"])
            elif item["evidence"]:
                ElementTree.SubElement(case, "system-out").text = f"{item['detail']}\n{_evidence_text(item)}"
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)
