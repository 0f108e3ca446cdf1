"""``POST /stet/psd2/{version}/funds-confirmations`` (and the sandbox alias ``/{version}/...``).

Checks run in the order a bank's gateway applies them: establishment,
content negotiation, bearer token and scope, TPP registry (revoked, denied),
X-Request-ID, TPP identity (QWAC when sent or strict, QSealC signature and
Digest when sent or strict, PSP_IC role), body (JSON, then the version's
STET schema, IBAN only); then the bank's own rules, which ``bank.coverage``
owns (consented account, closed, eligibility, coverage): this view translates
its refusal into the API's 403.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Optional

from flask import Blueprint, Request, Response, g, request

from ..bank.clock import isoformat
from ..bank.coverage import FundsRefused, funds_available
from ..bank.iban import is_valid_iban
from ..bank.scenario import Scenario
from ..conformance.modules import ANSWER, API, RATE_LIMIT_RETRY_AFTER
from ..formats import jsonio
from ..formats.validation import schema_set
from ..http.conformance import misbehave
from ..http.errors import ApiError
from ..http.web import request_body, sandbox, served_bank, snapshot
from ..oauth.tokens import bearer_grant, death
from ..store.interface import Store
from ..store.records import REVOKED_BY_PSU, pair_ref
from ..tpp.registry import IdentityRefused, admission, check_client_certificate, check_request_signature
from ..tpp.transport import client_certificate, request_target
from .seal import signature_headers
from .versions import HAL_JSON, PREFIXES, ApiVersion, version_for

blueprint = Blueprint("stet", __name__)

REQUEST_ID_MAX = 70
REQUEST_DEFINITION = "PaymentCoverageRequestResource"
JSON_WHITESPACE = " \t\n\r"  # RFC 8259 §2: what may surround a JSON text
SIGNATURE_CHALLENGE = 'Signature realm="mock-aspsp", headers="(request-target) x-request-id digest"'


def _version(prefix: str) -> ApiVersion:
    version = version_for(prefix)
    if version is None:
        raise ApiError(404, f"no API version {prefix}; this bank serves {', '.join(PREFIXES)}")
    return version


def _check_accept(request: Request) -> None:
    if "HTTP_ACCEPT" in request.environ and not request.accept_mimetypes.best_match(
        ["application/hal+json", "application/json"]
    ):
        raise ApiError(406, "Accept must allow application/hal+json or application/json")


def _request_id(request: Request) -> str:
    request_id = request.headers.get("X-Request-ID", "")
    if not request_id:
        raise ApiError(400, "X-Request-ID header is missing")
    if len(request_id) > REQUEST_ID_MAX:
        raise ApiError(400, f"X-Request-ID header is longer than {REQUEST_ID_MAX} characters")
    return request_id


def _body(request: Request, version: ApiVersion) -> tuple[dict, str]:
    """The body as read (numbers as Decimal) and its JSON text, to echo as the TPP sent it."""
    if request.mimetype != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    try:
        text = jsonio.text(request_body(request)) or "null"
        body = jsonio.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep to parse
        raise ApiError(400, "body: not valid JSON") from None
    problem = schema_set(version.schema_file).problem(REQUEST_DEFINITION, body)
    if problem:
        g.validation_errors = schema_set(version.schema_file).errors(REQUEST_DEFINITION, body)
        raise ApiError(400, problem)
    return body, text.strip(JSON_WHITESPACE)


def _amount(body: dict) -> Decimal:
    amount = Decimal(str(body["instructedAmount"]["amount"]))
    if not amount.is_finite():
        raise ApiError(400, "instructedAmount.amount: must be a finite number")
    if amount <= 0:
        raise ApiError(400, "instructedAmount.amount: must be greater than zero")
    return amount


def _iban(body: dict) -> str:
    account_id = body["accountId"]
    if "iban" not in account_id:
        raise ApiError(
            400, "accountId.iban: is required; this bank identifies accounts by IBAN only, not by card or 'other'"
        )
    iban = account_id["iban"]
    if not is_valid_iban(iban):
        raise ApiError(400, "accountId.iban: check digits are wrong (ISO 13616 mod-97)")
    return iban


def _report(request_text: str, result: bool, path: str) -> str:
    """The coverage report: the request exactly as sent (amounts as written, not re-encoded through
    binary floats), then ``result`` and ``_links`` in the standard library's layout."""
    return f'{{"request": {request_text}, "result": {"true" if result else "false"}, "_links": {_links(path)}}}'


@lru_cache(maxsize=64)  # the few funds-confirmations paths the routes take (a version and an alias each)
def _links(path: str) -> str:
    """``_links.self`` as the portal's example shows it: the resource path, no leading slash."""
    return json.dumps({"self": {"href": path.lstrip("/")}})


def _check_identity(request: Request, scenario: Scenario, store: Store, now: datetime, tpp):
    """The TPP's QWAC (when sent; required when strict) and QSealC signature (likewise); returns the
    QSealC that signed the call, or None. 401 when nothing usable was sent or the signature does not
    verify, 403 when a certificate is refused (README, "Error reference")."""
    cert, unreadable = client_certificate(request)
    try:
        check_client_certificate(cert, client_id=tpp.organization_identifier, scenario=scenario, store=store, now=now,
                                 unreadable=unreadable)
    except IdentityRefused as refused:
        raise ApiError(refused.status, refused.reason) from None
    try:
        qsealc = check_request_signature(
            request.method, request_target(request), request.headers, request_body(request),
            client_id=tpp.organization_identifier, scenario=scenario, store=store, now=now,
            certificates=tpp.certificates if tpp.registered else (),
        )
    except IdentityRefused as refused:
        g.signature = "invalid"  # the go-live check: a signature sent but refused
        challenge = {"WWW-Authenticate": SIGNATURE_CHALLENGE} if refused.status == 401 else {}
        raise ApiError(refused.status, refused.reason, challenge) from None
    g.signature = "missing" if qsealc is None else "valid"
    return qsealc


def _misbehave(module: Optional[str], store, now, grant) -> None:
    """The API call's answer when a conformance module fires on it (``conformance.modules``)."""
    if module == "rate-limited":
        raise ApiError(429, "too many requests: retry later", {"Retry-After": str(RATE_LIMIT_RETRY_AFTER)})
    if module == "service-unavailable":
        raise ApiError(503, "the service is unavailable: retry later")
    if module == "access-token-expires-early":
        g.token_problem = "expired"
        raise ApiError(401, f"access token expired on {isoformat(now)}: use the refresh token at /token",
                       {"WWW-Authenticate": 'Bearer realm="mock-aspsp", error="invalid_token"'})
    if module == "consent-revoked-by-psu":
        store.revoke_grants(now, REVOKED_BY_PSU, grant_id=grant.id)
        raise ApiError(401, death("access token", REVOKED_BY_PSU, now),
                       {"WWW-Authenticate": 'Bearer realm="mock-aspsp", error="invalid_token"'})


@blueprint.post("/stet/psd2/<prefix>/funds-confirmations")
@blueprint.post("/<prefix>/funds-confirmations")
def funds_confirmations(prefix: str) -> Response:
    version = _version(prefix)
    current = request._get_current_object()  # one context look-up for the request's many reads
    taken, store = snapshot(), sandbox().store
    now, scenario = taken.now, taken.scenario
    bank = served_bank(scenario)
    _check_accept(current)
    grant = bearer_grant(store, now, bank, current.headers.get("Authorization"), version)
    g.client_id = grant.client_id
    admitted = admission(scenario, store, grant.client_id, "funds-confirmations")
    if admitted.refusal:
        raise ApiError(403, admitted.refusal)
    _misbehave(misbehave(grant.client_id, API), store, now, grant)
    request_id = _request_id(current)
    qsealc = _check_identity(current, scenario, store, now, admitted.tpp)
    if qsealc is None and admitted.missing_role:  # a QSealC was checked for the role itself
        raise ApiError(403, admitted.missing_role)
    body, text = _body(current, version)
    iban = _iban(body)
    amount = _amount(body)
    try:
        result = funds_available(scenario, bank, grant.iban, iban, body["instructedAmount"]["currency"], amount,
                                 store.account_changes)
    except FundsRefused as refused:
        raise ApiError(403, f"accountId.iban: {refused.reason}") from None
    if misbehave(grant.client_id, ANSWER):  # conformance module funds-false
        result = False
    g.funds_check = {"pair": pair_ref(grant), "amount": str(amount), "currency": body["instructedAmount"]["currency"],
                     "result": result}  # what the PSU's access dashboard lists: never the balance
    report = _report(text, result, current.path).encode("utf-8")
    # Passed through as the one bytes object it is: no per-call iterator to encode and join it again.
    response = Response(report, 200, content_type=HAL_JSON, direct_passthrough=True)
    if scenario.settings.sign_responses:  # the exact bytes sent, as the TPP's Digest check reads them
        response.headers.update(signature_headers(report, request_id, corrupt=g.get("bad_signature", False)))
    return response
