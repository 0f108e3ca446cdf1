"""The admin API under ``/__admin``: how QA and CI drive the sandbox.

Every change goes through the store, so it reaches every worker (and, with a
shared store, every replica) on its next request. When ``MOCK_ASPSP_ADMIN_TOKEN``
is set, each call must carry it as a bearer token.

Each action is one plain function (``reset_sandbox``, ``move_clock``, ``add_rule``...)
taking the request's data as a dict and answering a dict, or raising ``ApiError``
(``Refused`` with every problem): the JSON views below and the QA console
(``console``) both call them, so the two never disagree.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any, Mapping, Optional

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..bank.clock import format_duration, isoformat, parse_duration, parse_instant
from ..bank.coverage import ACCOUNT_STATUSES
from ..bank.faults import rule_problems
from ..bank.scenario import SCENARIO_SCHEMA, Scenario, ScenarioError
from ..formats import jsonio
from ..formats.quoting import quoted
from ..formats.validation import field_path, schema_set
from ..oauth.tokens import REVOKERS, withdraw
from ..sandbox import ADMIN_SOURCE
from ..stet.versions import VERSIONS
from ..store.records import REMOVED_WITH_REGISTRATION_BY_BANK, Grant, instant, locked_until, pair_ref
from ..tpp.certificates import normalize_fingerprint
from ..tpp.registration import Registration
from ..tpp.registry import effective_tpp, revoked_fingerprints
from .errors import ApiError, error_model
from .hosts import foreign_request
from .web import sandbox, snapshot

blueprint = Blueprint("admin", __name__, url_prefix="/__admin")


JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")  # a scenario's text may come as YAML



class Refused(ApiError):
    """A 422: the request is understood but refused, with every problem (a rule, a scenario, an amount)."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(422, message)
        self.problems = problems


def token_accepted(given: str) -> bool:
    """The one bearer check, for the API's header and the console's session alike."""
    expected = current_app.config["MOCK_ASPSP"].admin_token
    return expected is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


@blueprint.before_request
def _authorize_admin() -> None:
    """Health stays open so container probes need no secret (it holds none); everything else needs the
    token, or, without one, a request no other web site can make (``_same_machine``)."""
    if request.endpoint == "admin.health":
        return
    config = current_app.config["MOCK_ASPSP"]
    if config.admin_token is None:
        _same_machine(config.allowed_hosts)
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_accepted(given):
        raise ApiError(401, "admin API: send 'Authorization: Bearer <MOCK_ASPSP_ADMIN_TOKEN>'",
                       {"WWW-Authenticate": 'Bearer realm="mock-aspsp admin"'})


def _same_machine(allowed_hosts: tuple[str, ...]) -> None:
    """Without a token, refuse what a web page in the PSU's or QA's browser could send: a request to a
    host name it rebound to this machine, one from another origin (``hosts.foreign_request``), and a
    body a cross-site form can send (text/plain, form-urlencoded, multipart: a CSRF)."""
    problem = foreign_request(request.host, request.headers, allowed_hosts, "admin API")
    if problem:
        raise ApiError(403, problem)
    headers = request.headers
    has_body = bool(request.content_length) or "chunked" in headers.get("Transfer-Encoding", "").lower()
    accepted = (JSON, *YAML_TYPES) if request.endpoint == "admin.put_scenario" else (JSON,)
    if has_body and request.mimetype not in accepted:
        raise ApiError(415, f"admin API: send the body as {' or '.join(accepted[:2])} (Content-Type)")


@blueprint.errorhandler(Refused)
def _unprocessable(refused: Refused) -> Response:
    """STET's ErrorModel, with every problem."""
    body = error_model(422, refused.message, request.path, isoformat(snapshot().now))
    response = jsonify({**body, "problems": refused.problems})
    response.status_code = 422
    return response


def _json_object() -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes: not an object this API reads
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    if not jsonio.is_text(body):  # stored, it would break every later read of it
        raise ApiError(400, jsonio.LONE_SURROGATE)
    return body


# -- the actions: one function each, for the JSON API and the console ----------------------------------
def scenario_summary(scenario: Scenario) -> dict:
    return {
        "name": scenario.name,
        "source": scenario.source,
        "banks": [{"code": b.code, "name": b.name, "default": b.code == scenario.default_bank} for b in scenario.banks],
        "psus": len(scenario.psus),
        "accounts": sum(len(p.accounts) for p in scenario.psus),
        "strictness": scenario.settings.strictness,
        # As the bank applies them now: the admin API's TPP switches included.
        "tpps": [{"client_id": t.client_id, "name": t.name, "status": t.status, "denied": t.denied}
                 for t in (effective_tpp(scenario, sandbox().store, t.client_id) for t in scenario.tpps)],
    }


def reset_sandbox() -> dict:
    sandbox().reset()
    g.snapshot = sandbox().snapshot()
    return {"reset": True, "scenario": snapshot().scenario.name}


def scenario_in_force() -> dict:
    version, _, text = sandbox().store.get_scenario()
    return {**scenario_summary(snapshot().scenario), "version": version, "yaml": text}


def swap_scenario(data: bytes) -> dict:
    """YAML or JSON text (JSON is YAML); validated whole before anything changes: Refused keeps the old one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the scenario must be UTF-8 text (YAML or JSON)") from None
    try:
        scenario = sandbox().swap_scenario(text, ADMIN_SOURCE)
    except ScenarioError as error:
        raise Refused(f"scenario refused ({len(error.problems)} problem(s)); the current one stays in force",
                      [str(p) for p in error.problems]) from None
    g.snapshot = sandbox().snapshot()
    return scenario_summary(scenario)


def clock_state() -> dict:
    offset = sandbox().store.sync_state().clock_offset
    sign = "-" if offset < timedelta() else ""
    return {
        "now": isoformat(snapshot().now),
        "real": isoformat(snapshot().now - offset),
        "offset": sign + format_duration(abs(offset)),
    }


# Mock time is kept where every instant the sandbox computes from it (expiries are mock time plus a
# lifetime) stays a valid date: an offset past year 9999 would fail every later request, even a reset.
MOCK_TIME_RANGE = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc))
_MOCK_TIME_RANGE_MESSAGE = f"mock time must stay between {MOCK_TIME_RANGE[0].year} and {MOCK_TIME_RANGE[1].year}"


def _checked_offset(clock, offset: timedelta) -> timedelta:
    if not MOCK_TIME_RANGE[0] <= clock.at(offset) < MOCK_TIME_RANGE[1]:  # OverflowError past year 9999
        raise ValueError(_MOCK_TIME_RANGE_MESSAGE)
    return offset


def move_clock(body: Mapping[str, Any]) -> dict:
    """``{"advance": "PT1H"}``, ``{"set": "2026-01-31T12:00:00Z"}`` or ``{"reset": true}``."""
    clock, store = sandbox().clock, sandbox().store
    try:
        if "advance" in body:
            store.advance_clock(parse_duration(body["advance"]), partial(_checked_offset, clock))
        elif "set" in body:
            store.set_clock_offset(_checked_offset(clock, clock.offset_to(parse_instant(body["set"]))))
        elif body.get("reset") is True:
            store.set_clock_offset(timedelta())
        else:
            raise ApiError(400, 'send {"advance": "PT1H"}, {"set": "2026-01-31T12:00:00Z"} or {"reset": true}')
    except OverflowError:
        raise ApiError(400, _MOCK_TIME_RANGE_MESSAGE) from None
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    g.snapshot = sandbox().snapshot()
    return clock_state()


JOURNAL_FILTERS = {"tpp": "client_id", "path": "path", "status": "status", "bank": "bank"}  # ``path``: a substring


def journal_entries(filters: Mapping[str, Optional[str]]) -> list[dict]:
    given = {k: v for k, v in filters.items() if k in JOURNAL_FILTERS and v}
    return [
        e for e in sandbox().store.journal()
        if all(str(e.get(JOURNAL_FILTERS[k])) == v if k != "path" else v in (e.get("path") or "")
               for k, v in given.items())
    ]


def clear_journal() -> dict:
    sandbox().store.clear_journal()
    return {"cleared": True}


def version_lifecycles() -> dict:
    """Each served API version with its lifecycle (the scenario's ``settings.versions``) and its state now,
    on the mock clock."""
    now, settings = snapshot().now, snapshot().scenario.settings
    return {"now": isoformat(now), "versions": [_version_view(v, settings.lifecycle(v.prefix), now) for v in VERSIONS]}


def _version_view(version, lifecycle, now: datetime) -> dict:
    def day(value) -> Optional[str]:
        return value.isoformat() if value else None

    return {"version": version.prefix, "stet": version.stet, "scope": version.scope,
            "path": f"/stet/psd2/{version.prefix}", "deprecated_on": day(lifecycle.deprecated_on),
            "decommissioned_on": day(lifecycle.decommissioned_on), "state": lifecycle.state(now)}


def rules_in_force() -> list[dict]:
    counters = sandbox().store.rule_counters()
    scenario_names = {r.name for r in snapshot().scenario.rules}
    return [
        {
            "name": r.name,
            "source": "scenario" if r.name in scenario_names else "admin",
            "matched": counters.get(r.name, (0, 0))[0],
            "fired": counters.get(r.name, (0, 0))[1],
        }
        for r in snapshot().rules
    ]


def add_rule(body: dict) -> dict:
    """A fault rule in the scenario's ``rules`` format, checked the same way, added for every worker."""
    problems = schema_set(SCENARIO_SCHEMA).errors("rule", body)
    if not problems:
        problems = [f"{field_path(path) or 'rule'}: {reason}" for path, reason in rule_problems(body, snapshot().scenario.settings.sign_responses)]
    name = body.get("name")
    if isinstance(name, str) and name in {r.name for r in snapshot().rules}:
        problems.append(f"name: a rule named {name!r} already exists")
    if problems:
        raise Refused("rule refused", problems)
    sandbox().store.add_rule(body)
    g.snapshot = sandbox().snapshot()
    return body


def remove_rule(name: str) -> dict:
    """One rule added at run time goes, with its counters; the scenario's own stay (swap the scenario)."""
    if name in {r.name for r in snapshot().scenario.rules}:
        raise ApiError(409, f"rule {quoted(name, 64)} is the scenario's: swap the scenario to remove it")
    if not sandbox().store.remove_rule(name):
        raise ApiError(404, f"no rule {quoted(name, 64)} was added through the admin API")
    g.snapshot = sandbox().snapshot()
    return {"removed": name}


def clear_rules() -> dict:
    """Remove the rules added through this API (the scenario's stay) and zero all counters."""
    sandbox().store.clear_rules()
    g.snapshot = sandbox().snapshot()
    return {"cleared": True}


def _amount_problems(body: dict) -> list[str]:
    """A balance or overdraft follows the scenario's own rules for an amount: never a value that a later
    funds check could not compute with."""
    return [problem for name in ("balance", "overdraft") if name in body
            for problem in schema_set(SCENARIO_SCHEMA).errors("amount", body[name], name)]


def _account_changes(body: dict) -> dict:
    unknown = sorted(set(body) - {"balance", "overdraft", "status"})
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; allowed: balance, overdraft, status")
    amounts = {name: body[name] for name in ("balance", "overdraft") if name in body}
    changes: dict[str, Any] = {name: str(Decimal(str(value))) for name, value in amounts.items()}
    if "status" in body:
        if body["status"] not in ACCOUNT_STATUSES:
            raise ApiError(400, f"status: must be one of {', '.join(ACCOUNT_STATUSES)}")
        changes["status"] = body["status"]
    if not changes:
        raise ApiError(400, "nothing to change: send balance, overdraft and/or status")
    return changes


def patch_account(iban: str, bank: Optional[str], body: dict) -> dict:
    scenario = snapshot().scenario
    bank = bank or next((b.code for b in scenario.banks if scenario.account(b.code, iban)), scenario.default_bank)
    account = scenario.account(bank, iban)
    if account is None:
        raise ApiError(404, f"no account {iban} at bank {bank} in the scenario")
    problems = _amount_problems(body)
    if problems:
        raise Refused("account change refused", problems)
    merged = sandbox().store.patch_account(bank, iban, _account_changes(body))
    return {
        "bank": bank,
        "iban": iban,
        "balance": merged.get("balance", str(account.balance)),
        "overdraft": merged.get("overdraft", str(account.overdraft)),
        "status": merged.get("status", account.status),
    }


def patch_psu(login: str, bank: Optional[str], body: dict) -> dict:
    """``{"locked": false}`` lifts a PSU's lock-out (and forgets its failures); ``{"locked": true}`` locks it
    now, for the scenario's lock-out duration (``bank``: a PSU of another bank than the default)."""
    scenario, now = snapshot().scenario, snapshot().now
    bank = bank or scenario.default_bank
    if scenario.psu(bank, login) is None:
        raise ApiError(404, f"no PSU {quoted(login, 64)} at bank {quoted(bank, 10)} in the scenario")
    if set(body) != {"locked"} or not isinstance(body["locked"], bool):
        raise ApiError(400, 'send {"locked": false} to unlock the PSU, or {"locked": true} to lock it')
    lockout, store = scenario.settings.sca.psu_lockout, sandbox().store
    if body["locked"]:
        store.lock_psu(bank, login, now, lockout.attempts, lockout.duration)
    else:
        store.clear_psu_failures(bank, login)
    failures, until = store.psu_failures(bank, login, now)
    until = locked_until(failures, until, lockout.attempts)
    return {"bank": bank, "login": login, "locked": until is not None,
            "locked_until": isoformat(until) if until else None, "failed_attempts": failures}


TPP_STATUSES = ("active", "revoked")


def tpp_as_registered(client_id: str) -> dict:
    tpp = effective_tpp(snapshot().scenario, sandbox().store, client_id)
    return {
        "client_id": tpp.client_id,
        "name": tpp.name,
        "status": tpp.status,
        "denied": tpp.denied,
        "certificates": [c.sha256 for c in tpp.certificates],
    }


DENIED_MAX = 200  # as a scenario's tpps[].denied (scenario.schema.json): sent back in every refusal of the TPP


def patch_tpp(client_id: str, body: dict) -> dict:
    """The bank revokes a TPP's profile or denies it access (or lifts either) while the mock runs."""
    if snapshot().scenario.tpp(client_id) is None:
        raise ApiError(404, f"no TPP with client_id {client_id} in the scenario")
    unknown = sorted(set(body) - {"status", "denied"})
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; allowed: status, denied")
    if not body:
        raise ApiError(400, 'nothing to change: send {"status": "active" | "revoked"} and/or {"denied": "reason" | null}')
    if "status" in body and body["status"] not in TPP_STATUSES:
        raise ApiError(400, f"status: must be one of {', '.join(TPP_STATUSES)}")
    denied = body.get("denied")
    if "denied" in body and denied is not None and (not isinstance(denied, str) or not denied.strip()
                                                    or len(denied) > DENIED_MAX):
        raise ApiError(400, f"denied: must be the reason the bank gives (a non-empty string of at most {DENIED_MAX} "
                            "characters), or null to lift it")
    sandbox().store.patch_tpp(client_id, body)
    return tpp_as_registered(client_id)


def _registration_view(data: dict) -> dict:
    found = Registration.from_dict(data)
    return {**found.answer(), "organization_identifier": found.organization_identifier,
            "certificates": [c.sha256 for c in found.parsed_certificates()],
            "registered_at": isoformat(instant(found.registered_at)), "updated_at": isoformat(instant(found.updated_at))}


def registrations() -> list[dict]:
    """The clients registered through ``/stet/setting/v1/register``, oldest first."""
    return [_registration_view(d) for d in sandbox().store.registrations()]


def registration(client_id: str) -> dict:
    data = sandbox().store.registration(client_id)
    if data is None:
        raise ApiError(404, f"no registration with client_id {client_id[:80]}")
    return _registration_view(data)


def remove_registrations(client_ids: Optional[list[str]] = None) -> dict:
    """Remove the registered clients named (every one when None); their tokens are revoked with them."""
    store = sandbox().store
    if client_ids is None:
        client_ids = [data["client_id"] for data in store.registrations()]
    removed = []
    for client_id in client_ids:
        if store.delete_registration(client_id):
            store.revoke_grants(snapshot().now, REMOVED_WITH_REGISTRATION_BY_BANK, client_id=client_id)
            removed.append(client_id)
    return {"removed": removed}


def remove_registration(client_id: str) -> dict:
    removed = remove_registrations([client_id])
    if not removed["removed"]:
        raise ApiError(404, f"no registration with client_id {client_id[:80]}")
    return removed


def revoked_certificates() -> list[str]:
    return sorted(revoked_fingerprints(snapshot().scenario, sandbox().store))


def revoke_certificate(body: dict) -> dict:
    """The QTSP revoked a TPP certificate: the bank refuses it from now on (QWAC and QSealC alike)."""
    sha256 = normalize_fingerprint(str(body.get("sha256", "")))
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ApiError(400, "sha256: the certificate's SHA-256 fingerprint (64 hex digits, colons allowed) is required")
    sandbox().store.revoke_certificate(sha256, snapshot().now)
    cert = snapshot().scenario.certificate(sha256)
    return {
        "revoked": sha256,
        "client_id": cert.organization_identifier if cert else None,
        "revoked_certificates": revoked_certificates(),
    }


def _grant_view(grant: Grant, now: datetime) -> dict:
    if grant.revoked_at is not None:
        state = "revoked"
    elif now >= grant.refresh_expires_at:
        state = "expired"
    else:
        state = "active" if now < grant.access_expires_at else "access token expired"
    return {
        "id": pair_ref(grant),
        "bank": grant.bank,
        "psu": grant.psu,
        "client_id": grant.client_id,
        "scope": grant.scope,
        "iban": grant.iban,
        "state": state,
        "authenticated_at": isoformat(grant.authenticated_at),
        "issued_at": isoformat(grant.issued_at),
        "access_expires_at": isoformat(grant.access_expires_at),
        "refresh_expires_at": isoformat(grant.refresh_expires_at),
        "revoked_at": isoformat(grant.revoked_at) if grant.revoked_at else None,
        "revoked_reason": grant.revoked_reason,
    }


def token_pairs() -> list[dict]:
    now = snapshot().now
    return [_grant_view(g, now) for g in sandbox().store.grants()]


REASON_MAX = 40  # the bank's own words, in every refusal of the tokens: the ErrorModel message (140) keeps them whole


def revoke_tokens(body: Mapping[str, Any]) -> dict:
    """The bank, or the PSU in its online banking (``"by": "psu"``), withdraws access: each pair keeps who
    did it, and the bank's ``reason`` if it gave one, and its tokens say so from then on."""
    criteria: dict[str, Optional[str]] = {k: body.get(k) for k in ("psu", "client_id", "bank")}
    if not any(criteria.values()):
        raise ApiError(400, "name at least one of psu, client_id, bank")
    wrong = next((k for k, v in criteria.items() if v is not None and not isinstance(v, str)), None)
    if wrong:
        raise ApiError(400, f"{wrong}: must be a string")
    by = body.get("by", "bank")
    if not isinstance(by, str) or by not in REVOKERS:
        raise ApiError(400, f'by: must be "bank" (the default) or "psu", not {quoted(by, 40)}')
    detail = body.get("reason")
    if detail and (not isinstance(detail, str) or len(detail) > REASON_MAX):
        raise ApiError(400, f"reason: must be a string of at most {REASON_MAX} characters")
    revoked = withdraw(sandbox().store, snapshot().now, by, detail, **criteria)
    return {"revoked": len(revoked)}


# -- the JSON views ------------------------------------------------------------------------------------
@blueprint.get("/health")
def health() -> Response:
    return jsonify({"status": "ok", "scenario": snapshot().scenario.name, "time": isoformat(snapshot().now)})


@blueprint.post("/reset")
def reset() -> Response:
    return jsonify(reset_sandbox())


@blueprint.get("/scenario")
def get_scenario() -> Response:
    return jsonify(scenario_in_force())


@blueprint.put("/scenario")
def put_scenario() -> Response:
    return jsonify(swap_scenario(request.get_data()))


@blueprint.get("/clock")
def get_clock() -> Response:
    return jsonify(clock_state())


@blueprint.post("/clock")
def post_clock() -> Response:
    return jsonify(move_clock(_json_object()))


@blueprint.get("/requests")
def journal() -> Response:
    entries = journal_entries(request.args)
    return jsonify({"count": len(entries), "requests": entries})


@blueprint.delete("/requests")
def delete_journal() -> Response:
    return jsonify(clear_journal())


@blueprint.get("/versions")
def versions() -> Response:
    return jsonify(version_lifecycles())


@blueprint.get("/rules")
def rules() -> Response:
    return jsonify({"rules": rules_in_force()})


@blueprint.post("/rules")
def post_rule() -> Response:
    return jsonify({"added": add_rule(_json_object())}), 201


@blueprint.delete("/rules")
def delete_rules() -> Response:
    """``?name=``: that added rule only; without it, every added rule (and every counter)."""
    name = request.args.get("name")
    return jsonify(remove_rule(name) if name is not None else clear_rules())


@blueprint.patch("/accounts/<iban>")
def patch_account_view(iban: str) -> Response:
    return jsonify(patch_account(iban, request.args.get("bank"), _json_object()))


@blueprint.patch("/psus/<login>")
def patch_psu_view(login: str) -> Response:
    return jsonify(patch_psu(login, request.args.get("bank"), _json_object()))


@blueprint.patch("/tpps/<client_id>")
def patch_tpp_view(client_id: str) -> Response:
    return jsonify(patch_tpp(client_id, _json_object()))


@blueprint.get("/registrations")
def list_registrations() -> Response:
    return jsonify({"registrations": registrations()})


@blueprint.get("/registrations/<client_id>")
def get_registration(client_id: str) -> Response:
    return jsonify(registration(client_id))


@blueprint.delete("/registrations")
def delete_registrations() -> Response:
    return jsonify(remove_registrations())


@blueprint.delete("/registrations/<client_id>")
def delete_registration(client_id: str) -> Response:
    return jsonify(remove_registration(client_id))


@blueprint.post("/certificates/revoke")
def post_certificate_revocation() -> Response:
    return jsonify(revoke_certificate(_json_object()))


@blueprint.get("/tokens")
def tokens() -> Response:
    views = token_pairs()
    return jsonify({"count": len(views), "tokens": views})


@blueprint.post("/tokens/revoke")
def post_token_revocation() -> Response:
    return jsonify(revoke_tokens(_json_object()))
