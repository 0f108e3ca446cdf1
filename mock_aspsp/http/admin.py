"""The admin API under ``/__admin``: how QA and CI drive the sandbox.

Every change goes through the store, so it reaches every worker (and, with a
shared store, every replica) on its next request. When ``MOCK_ASPSP_ADMIN_TOKEN``
is set, each call must carry it as a bearer token.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any, Optional
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..bank.clock import format_duration, isoformat, parse_duration, parse_instant
from ..bank.coverage import ACCOUNT_STATUSES
from ..bank.faults import rule_problems
from ..bank.scenario import SCENARIO_SCHEMA, Scenario, ScenarioError
from ..formats.quoting import quoted
from ..formats.validation import field_path, schema_set
from ..oauth.tokens import REVOKERS, withdraw
from ..sandbox import ADMIN_SOURCE
from ..store.records import Grant, locked_until, pair_ref
from ..tpp.certificates import normalize_fingerprint
from ..tpp.registry import effective_tpp, revoked_fingerprints
from .errors import ApiError, error_model
from .hosts import host_name, is_allowed
from .web import sandbox, snapshot

blueprint = Blueprint("admin", __name__, url_prefix="/__admin")


JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")  # a scenario's text may come as YAML


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
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), config.admin_token.encode()):
        raise ApiError(401, "admin API: send 'Authorization: Bearer <MOCK_ASPSP_ADMIN_TOKEN>'",
                       {"WWW-Authenticate": 'Bearer realm="mock-aspsp admin"'})


def _same_machine(allowed_hosts: tuple[str, ...]) -> None:
    """Without a token, refuse what a web page in the PSU's or QA's browser could send: a request to a
    host name it rebound to this machine (DNS rebinding), one from another origin, and a body a
    cross-site form can send (text/plain, form-urlencoded, multipart: a CSRF)."""
    headers = request.headers
    name = host_name(request.host)
    if not is_allowed(name, allowed_hosts):
        raise ApiError(403, f"admin API: host {quoted(name, 60)} refused without an admin token (set "
                            "MOCK_ASPSP_ADMIN_TOKEN, or list it in MOCK_ASPSP_ALLOWED_HOSTS)")
    origin = headers.get("Origin")
    if headers.get("Sec-Fetch-Site") == "cross-site" or (origin is not None and _origin_host(origin) != request.host.lower()):
        raise ApiError(403, "admin API: cross-site request refused (Origin or Sec-Fetch-Site of another site)")
    has_body = bool(request.content_length) or "chunked" in headers.get("Transfer-Encoding", "").lower()
    accepted = (JSON, *YAML_TYPES) if request.endpoint == "admin.put_scenario" else (JSON,)
    if has_body and request.mimetype not in accepted:
        raise ApiError(415, f"admin API: send the body as {' or '.join(accepted[:2])} (Content-Type)")


def _origin_host(origin: str) -> Optional[str]:
    """host[:port] of an Origin header (``null`` and junk have none); the default port is left out, as in Host."""
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host if port in (None, default) else f"{host}:{port}"


def _json_object() -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes: not an object this API reads
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _summary(scenario: Scenario) -> dict:
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


@blueprint.get("/health")
def health() -> Response:
    return jsonify({"status": "ok", "scenario": snapshot().scenario.name, "time": isoformat(snapshot().now)})


@blueprint.post("/reset")
def reset() -> Response:
    sandbox().store.reset()
    return jsonify({"reset": True, "scenario": snapshot().scenario.name})


@blueprint.get("/scenario")
def get_scenario() -> Response:
    version, _, text = sandbox().store.get_scenario()
    return jsonify({**_summary(snapshot().scenario), "version": version, "yaml": text})


@blueprint.put("/scenario")
def put_scenario() -> Response:
    """YAML or JSON body (JSON is YAML); validated whole before anything changes."""
    try:
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the scenario must be UTF-8 text (YAML or JSON)") from None
    try:
        scenario = sandbox().swap_scenario(text, ADMIN_SOURCE)
    except ScenarioError as error:
        return _unprocessable(
            f"scenario refused ({len(error.problems)} problem(s)); the current one stays in force",
            [str(p) for p in error.problems],
        )
    return jsonify(_summary(scenario))


def _clock_state() -> dict:
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


@blueprint.get("/clock")
def get_clock() -> Response:
    return jsonify(_clock_state())


@blueprint.post("/clock")
def move_clock() -> Response:
    body = _json_object()
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
    return jsonify(_clock_state())


@blueprint.get("/requests")
def journal() -> Response:
    filters = {k: request.args.get(k) for k in ("tpp", "path", "status", "bank") if request.args.get(k)}
    field = {"tpp": "client_id", "path": "path", "status": "status", "bank": "bank"}
    entries = [
        e for e in sandbox().store.journal()
        if all(str(e.get(field[k])) == v if k != "path" else v in (e.get("path") or "") for k, v in filters.items())
    ]
    return jsonify({"count": len(entries), "requests": entries})


@blueprint.delete("/requests")
def clear_journal() -> Response:
    sandbox().store.clear_journal()
    return jsonify({"cleared": True})


def _unprocessable(message: str, problems: list[str]) -> Response:
    """STET's ErrorModel, with every problem."""
    body = error_model(422, message, request.path, isoformat(snapshot().now))
    response = jsonify({**body, "problems": problems})
    response.status_code = 422
    return response


@blueprint.get("/rules")
def rules() -> Response:
    counters = sandbox().store.rule_counters()
    scenario_names = {r.name for r in snapshot().scenario.rules}
    return jsonify({"rules": [
        {
            "name": r.name,
            "source": "scenario" if r.name in scenario_names else "admin",
            "matched": counters.get(r.name, (0, 0))[0],
            "fired": counters.get(r.name, (0, 0))[1],
        }
        for r in snapshot().rules
    ]})


@blueprint.post("/rules")
def add_rule() -> Response:
    """A fault rule in the scenario's ``rules`` format, checked the same way, added for every worker."""
    body = _json_object()
    problems = schema_set(SCENARIO_SCHEMA).errors("rule", body)
    if not problems:
        problems = [f"{field_path(path) or 'rule'}: {reason}" for path, reason in rule_problems(body)]
    name = body.get("name")
    if isinstance(name, str) and name in {r.name for r in snapshot().rules}:
        problems.append(f"name: a rule named {name!r} already exists")
    if problems:
        return _unprocessable("rule refused", problems)
    sandbox().store.add_rule(body)
    return jsonify({"added": body}), 201


@blueprint.delete("/rules")
def clear_rules() -> Response:
    """Remove the rules added through this API (the scenario's own stay) and zero all counters."""
    sandbox().store.clear_rules()
    return jsonify({"cleared": True})


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


@blueprint.patch("/accounts/<iban>")
def patch_account(iban: str) -> Response:
    scenario = snapshot().scenario
    bank = request.args.get("bank") or next(
        (b.code for b in scenario.banks if scenario.account(b.code, iban)), scenario.default_bank
    )
    account = scenario.account(bank, iban)
    if account is None:
        raise ApiError(404, f"no account {iban} at bank {bank} in the scenario")
    body = _json_object()
    problems = _amount_problems(body)
    if problems:
        return _unprocessable("account change refused", problems)
    merged = sandbox().store.patch_account(bank, iban, _account_changes(body))
    return jsonify({
        "bank": bank,
        "iban": iban,
        "balance": merged.get("balance", str(account.balance)),
        "overdraft": merged.get("overdraft", str(account.overdraft)),
        "status": merged.get("status", account.status),
    })


@blueprint.patch("/psus/<login>")
def patch_psu(login: str) -> Response:
    """``{"locked": false}`` lifts a PSU's lock-out (and forgets its failures); ``{"locked": true}`` locks it
    now, for the scenario's lock-out duration (``?bank=`` for a PSU of another bank than the default)."""
    scenario, now = snapshot().scenario, snapshot().now
    bank = request.args.get("bank") or scenario.default_bank
    if scenario.psu(bank, login) is None:
        raise ApiError(404, f"no PSU {quoted(login, 64)} at bank {quoted(bank, 10)} in the scenario")
    body = _json_object()
    if set(body) != {"locked"} or not isinstance(body["locked"], bool):
        raise ApiError(400, 'send {"locked": false} to unlock the PSU, or {"locked": true} to lock it')
    lockout, store = scenario.settings.sca.psu_lockout, sandbox().store
    if body["locked"]:
        store.lock_psu(bank, login, now, lockout.attempts, lockout.duration)
    else:
        store.clear_psu_failures(bank, login)
    failures, until = store.psu_failures(bank, login, now)
    until = locked_until(failures, until, lockout.attempts)
    return jsonify({"bank": bank, "login": login, "locked": until is not None,
                    "locked_until": isoformat(until) if until else None, "failed_attempts": failures})


TPP_STATUSES = ("active", "revoked")


def _tpp_view(client_id: str) -> dict:
    tpp = effective_tpp(snapshot().scenario, sandbox().store, client_id)
    return {
        "client_id": tpp.client_id,
        "name": tpp.name,
        "status": tpp.status,
        "denied": tpp.denied,
        "certificates": [c.sha256 for c in tpp.certificates],
    }


@blueprint.patch("/tpps/<client_id>")
def patch_tpp(client_id: str) -> Response:
    """The bank revokes a TPP's profile or denies it access (or lifts either) while the mock runs."""
    if snapshot().scenario.tpp(client_id) is None:
        raise ApiError(404, f"no TPP with client_id {client_id} in the scenario")
    body = _json_object()
    unknown = sorted(set(body) - {"status", "denied"})
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; allowed: status, denied")
    if not body:
        raise ApiError(400, 'nothing to change: send {"status": "active" | "revoked"} and/or {"denied": "reason" | null}')
    if "status" in body and body["status"] not in TPP_STATUSES:
        raise ApiError(400, f"status: must be one of {', '.join(TPP_STATUSES)}")
    denied = body.get("denied")
    if "denied" in body and denied is not None and (not isinstance(denied, str) or not denied.strip()):
        raise ApiError(400, "denied: must be the reason the bank gives (a non-empty string), or null to lift it")
    sandbox().store.patch_tpp(client_id, body)
    return jsonify(_tpp_view(client_id))


@blueprint.post("/certificates/revoke")
def revoke_certificate() -> Response:
    """The QTSP revoked a TPP certificate: the bank refuses it from now on (QWAC and QSealC alike)."""
    body = _json_object()
    sha256 = normalize_fingerprint(str(body.get("sha256", "")))
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ApiError(400, "sha256: the certificate's SHA-256 fingerprint (64 hex digits, colons allowed) is required")
    sandbox().store.revoke_certificate(sha256, snapshot().now)
    cert = snapshot().scenario.certificate(sha256)
    return jsonify({
        "revoked": sha256,
        "client_id": cert.organization_identifier if cert else None,
        "revoked_certificates": sorted(revoked_fingerprints(snapshot().scenario, sandbox().store)),
    })


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


@blueprint.get("/tokens")
def tokens() -> Response:
    now = snapshot().now
    views = [_grant_view(g, now) for g in sandbox().store.grants()]
    return jsonify({"count": len(views), "tokens": views})


REASON_MAX = 40  # the bank's own words, in every refusal of the tokens: the ErrorModel message (140) keeps them whole


@blueprint.post("/tokens/revoke")
def revoke_tokens() -> Response:
    """The bank, or the PSU in its online banking (``"by": "psu"``), withdraws access: each pair keeps who
    did it, and the bank's ``reason`` if it gave one, and its tokens say so from then on."""
    body = _json_object()
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
    return jsonify({"revoked": len(revoked)})
