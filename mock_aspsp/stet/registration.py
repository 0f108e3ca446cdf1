"""``/stet/setting/v1/register[/{client_id}]``: the bank's PSD2 registration API (portal, "PSD2 Registration").

Checks, in order: establishment, the registration token (``Authorization: Bearer``, from
``client_credentials`` with scope ``manageRegistration``), ``X-Request-ID``, the QWAC when
sent (required when strict) for the token's TPP, the body (JSON, then
``schemas/registration.schema.json``, unknown fields refused), the QSealC signature
(always required: by ``jwks.keys[0]`` on the first registration, by a registered
QSealC afterwards), each certificate of ``jwks.keys`` (same organizationIdentifier
as the token's QWAC, trusted CA, valid, not revoked, PSP_IC), the redirect URIs.
Refusals are STET ErrorModels naming what is wrong (domain rules: ``tpp.registration``).
"""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, Request, Response, g, jsonify, request

from ..formats import jsonio
from ..formats.validation import schema_set
from ..http.errors import ApiError
from ..http.web import request_body, sandbox, served_bank, snapshot
from ..oauth.tokens import registration_bearer
from ..store.records import REMOVED_WITH_REGISTRATION_BY_TPP
from ..tpp.certificates import TppCertificate
from ..tpp.registration import (REQUEST_DEFINITION, SCHEMA_FILE, Registration, RegistrationRefused,
                                check_redirect_uris, key_certificates, new_client_id)
from ..tpp.registry import IdentityRefused, check_client_certificate, check_qsealc, check_registration_signature
from ..tpp.transport import client_certificate, request_target

blueprint = Blueprint("registration", __name__)

PREFIX = "/stet/setting/v1"
REQUEST_ID_MAX = 70
SIGNATURE_CHALLENGE = 'Signature realm="mock-aspsp", headers="(request-target) x-request-id digest"'


def _caller(current: Request) -> str:
    """The organizationIdentifier of the TPP calling, from its registration token (and its QWAC, if sent)."""
    taken = snapshot()
    served_bank(taken.scenario)
    organization = registration_bearer(sandbox().store, taken.now, current.headers.get("Authorization"))
    g.client_id = organization
    request_id = current.headers.get("X-Request-ID", "")
    if not request_id:
        raise ApiError(400, "X-Request-ID header is missing")
    if len(request_id) > REQUEST_ID_MAX:
        raise ApiError(400, f"X-Request-ID header is longer than {REQUEST_ID_MAX} characters")
    cert, unreadable = client_certificate(current)
    try:
        check_client_certificate(cert, client_id=organization, scenario=taken.scenario, store=sandbox().store,
                                 now=taken.now, unreadable=unreadable)
    except IdentityRefused as refused:
        raise ApiError(refused.status, refused.reason) from None
    return organization


def _body(current: Request) -> dict:
    if current.mimetype != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    try:
        body = jsonio.loads(jsonio.text(request_body(current)) or "null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "body: not valid JSON") from None
    if not jsonio.is_text(body):  # a client_name no bank page could show
        raise ApiError(400, jsonio.LONE_SURROGATE)
    schemas = schema_set(SCHEMA_FILE)
    known = schemas.document["$defs"][REQUEST_DEFINITION]["properties"]
    unknown = sorted(set(body) - set(known)) if isinstance(body, dict) else []
    if unknown:  # the schema refuses them too, without naming them
        raise ApiError(400, f"body: unknown field(s) {', '.join(unknown)[:60]}; the registration API knows "
                            f"{', '.join(known)}"[:140])
    problem = schemas.problem(REQUEST_DEFINITION, body)
    if problem:
        g.validation_errors = schema_set(SCHEMA_FILE).errors(REQUEST_DEFINITION, body)
        raise ApiError(400, problem)
    try:
        check_redirect_uris(body)
        return body
    except RegistrationRefused as refused:
        raise ApiError(refused.status, refused.reason) from None


def _keys(body: dict) -> tuple[tuple[str, TppCertificate], ...]:
    """The certificates of ``jwks.keys``, read (not yet accepted: ``_accept``)."""
    try:
        return key_certificates(body)
    except RegistrationRefused as refused:
        raise ApiError(refused.status, refused.reason) from None


def _accept(keys: tuple[tuple[str, TppCertificate], ...], organization: str) -> None:
    """Each certificate of ``jwks.keys`` must be a QSealC the bank accepts for ``organization``."""
    taken = snapshot()
    for i, (_, cert) in enumerate(keys):
        if cert.organization_identifier != organization:
            raise ApiError(403, f"jwks.keys[{i}]: organizationIdentifier mismatch: the certificate belongs to "
                                f"{cert.organization_identifier}, the registration token to {organization}")
        try:
            check_qsealc(cert, organization=organization, scenario=taken.scenario, store=sandbox().store,
                         now=taken.now)
        except IdentityRefused as refused:
            raise ApiError(refused.status, f"jwks.keys[{i}]: {refused.reason}") from None


def _signed(current: Request, organization: str, certificates: tuple[TppCertificate, ...]) -> None:
    taken = snapshot()
    try:
        check_registration_signature(
            current.method, request_target(current), current.headers, request_body(current),
            organization=organization, certificates=certificates, scenario=taken.scenario, store=sandbox().store,
            now=taken.now,
        )
    except IdentityRefused as refused:
        challenge = {"WWW-Authenticate": SIGNATURE_CHALLENGE} if refused.status == 401 else {}
        raise ApiError(refused.status, refused.reason, challenge) from None


def _registered(client_id: str, organization: str) -> Registration:
    data = sandbox().store.registration(client_id)
    if data is None:
        raise ApiError(404, f"no registration with client_id {client_id[:80]}")
    found = Registration.from_dict(data)
    if found.organization_identifier != organization:
        raise ApiError(403, "this registration belongs to another TPP than the registration token's")
    return found


def _answer(registration: Registration, status: int, location: Optional[str] = None) -> Response:
    response = jsonify(registration.answer())
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if location:
        response.headers["Location"] = location
    return response


@blueprint.post(f"{PREFIX}/register")
def register() -> Response:
    current = request._get_current_object()
    organization = _caller(current)
    body = _body(current)
    if "client_id" in body:
        raise ApiError(400, "client_id: not allowed when registering: the bank generates it")
    if not body.get("jwks"):
        raise ApiError(400, "jwks.keys: the QSealC certificate is missing: on the first registration it travels "
                            "in the first item of keys (x5c)")
    keys = _keys(body)
    first = keys[0][1]
    try:
        _signed(current, organization, (first,))
    except ApiError as error:
        if error.status == 401 and error.message.startswith("unknown keyId"):
            raise ApiError(401, "the request must be signed with the QSealC of jwks.keys[0] (keyId ending in "
                                f"_{first.sha256})", error.headers) from None
        raise
    _accept(keys, organization)
    now = snapshot().now.timestamp()
    registration = Registration(new_client_id(), organization, body, tuple(text for text, _ in keys), now, now)
    sandbox().store.put_registration(registration.client_id, registration.to_dict())
    g.client_id = registration.client_id
    return _answer(registration, 201, f"{PREFIX}/register/{registration.client_id}")


@blueprint.get(f"{PREFIX}/register/<client_id>")
def read(client_id: str) -> Response:
    current = request._get_current_object()
    organization = _caller(current)
    found = _registered(client_id, organization)
    _signed(current, organization, found.parsed_certificates())
    return _answer(found, 200)


@blueprint.put(f"{PREFIX}/register/<client_id>")
def change(client_id: str) -> Response:
    """The metadata are replaced (RFC 7592 §2.2); ``jwks`` replaces the QSealC(s) when sent, and the call
    may be signed by a registered QSealC or by the new one."""
    current = request._get_current_object()
    organization = _caller(current)
    found = _registered(client_id, organization)
    body = _body(current)
    if body.pop("client_id", client_id) != client_id:
        raise ApiError(400, "client_id: differs from the client_id in the path")
    keys = _keys(body) if body.get("jwks") else ()
    _signed(current, organization, found.parsed_certificates() + tuple(cert for _, cert in keys))
    _accept(keys, organization)
    certificates = tuple(text for text, _ in keys) or found.certificates
    changed = Registration(client_id, organization, body, certificates, found.registered_at,
                           snapshot().now.timestamp())
    sandbox().store.put_registration(client_id, changed.to_dict())
    return _answer(changed, 200)


@blueprint.delete(f"{PREFIX}/register/<client_id>")
def remove(client_id: str) -> Response:
    """The client is gone at every bank: its tokens are revoked with it."""
    current = request._get_current_object()
    organization = _caller(current)
    found = _registered(client_id, organization)
    _signed(current, organization, found.parsed_certificates())
    store = sandbox().store
    store.delete_registration(client_id)
    store.revoke_grants(snapshot().now, REMOVED_WITH_REGISTRATION_BY_TPP, client_id=client_id)
    return Response(status=204)
