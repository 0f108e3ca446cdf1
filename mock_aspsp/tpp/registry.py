"""The bank's TPP registry as each request sees it, and the identity checks built on it.

The scenario registers TPPs (status, denial, roles, certificates, trusted CAs,
revoked certificates); the admin API can revoke or deny a TPP and revoke a
certificate while the mock runs (kept in the store, so every worker sees it).
``admission`` is the one gate every endpoint asks ("may this TPP call this
endpoint now"): ``/authorize``, ``/token``, ``/revoke`` and the API. These
functions combine both sources and know nothing of HTTP: the endpoints turn
their reasons into OAuth errors, redirects or STET ErrorModels.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..formats.quoting import quoted
from ..store.interface import Store
from .certificates import CertificateRejected, TppCertificate, check_certificate
from .qcstatements import QC_TYPE_ESEAL, QC_TYPE_WEB, QcStatementError, qc_types
from .signatures import DEFAULT_REQUIRED_HEADERS, SignatureRejected, check_digest, verify_request

STRICT = "strict"
CARD_ISSUER_ROLE = "PSP_IC"  # funds confirmations are for card-based payment instrument issuers
# The role each endpoint asks of a TPP (endpoints as the route table and fault rules name them): the
# PSU's journey and the API are for card issuers; /token and /revoke answer any registered TPP.
REQUIRED_ROLES = {"authorize": CARD_ISSUER_ROLE, "funds-confirmations": CARD_ISSUER_ROLE}


def effective_tpp(scenario, store: Store, client_id: str):
    """The scenario's TPP with the admin API's runtime changes (status, denied) applied; None if unknown."""
    tpp = scenario.tpp(client_id)
    if tpp is None:
        return None
    changes = store.tpp_changes(client_id)
    return dataclasses.replace(tpp, **changes) if changes else tpp


def revoked_fingerprints(scenario, store: Store) -> frozenset[str]:
    """Certificates revoked by the scenario or by ``POST /__admin/certificates/revoke``."""
    return scenario.revoked_certificates | store.revoked_certificates()


@dataclass(frozen=True)
class Admission:
    """The registry's answer to "may this TPP call this endpoint now"."""

    tpp: Any  # the scenario's TPP with the admin API's changes applied; None: not registered
    refusal: Optional[str] = None  # why it may not, whatever it sends (unknown, revoked, denied); None: it may
    # Why it may not, unless the call proves the role another way (the API: a QSealC holding it): the
    # endpoint asks a role the registry does not give this TPP. None: it holds it, or none is asked.
    missing_role: Optional[str] = None


def admission(scenario, store: Store, client_id: str, endpoint: str) -> Admission:
    """May the TPP ``client_id`` call ``endpoint`` now: registered (the admin API's changes included), its
    profile active, not denied, and holding the role the endpoint asks (``REQUIRED_ROLES``). Each endpoint
    reads the parts in its own order of checks (README, "Funds decision")."""
    tpp = effective_tpp(scenario, store, client_id)
    if tpp is None:
        return Admission(None, f"no TPP is registered with client_id {quoted(client_id)}")
    role = REQUIRED_ROLES.get(endpoint)
    missing = None
    if role is not None and role not in tpp.roles:
        missing = f"the TPP does not hold the card-issuer role ({role}) required for funds confirmations"
    return Admission(tpp, _refusal(tpp), missing)


def _refusal(tpp) -> Optional[str]:
    """Why the bank refuses this TPP whatever it sends (revoked profile, justified denial), or None."""
    if tpp.status != "active":
        return "the TPP's profile is revoked at this bank"
    if tpp.denied:
        return f"the bank denies access to this TPP: {tpp.denied}"
    return None


def is_strict(scenario) -> bool:
    return scenario.settings.strictness == STRICT


class IdentityRefused(Exception):
    """A TPP identity check failed. ``status`` is 401 (not authenticated: nothing usable was sent, or a
    signature that does not verify) or 403 (authenticated, but the certificate is refused)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _not_a_qwac(cert: TppCertificate) -> Optional[str]:
    """Why a client certificate is not a QWAC (QcType web, TLS client authentication), or None."""
    try:
        types = qc_types(cert.certificate)
    except QcStatementError as error:
        return f"client certificate has a malformed QcType statement: {error}"
    if types and QC_TYPE_WEB not in types:
        kind = "eseal (a QSealC, for signatures)" if QC_TYPE_ESEAL in types else ", ".join(sorted(types))
        return f"client certificate is not a QWAC: its QcType is {kind}, not web"
    try:
        usages = cert.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        return "client certificate is not a QWAC: its extended key usage does not allow TLS client authentication"
    return None


def check_client_certificate(
    cert: Optional[TppCertificate], *, client_id: str, scenario, store: Store, now: datetime,
    unreadable: Optional[str] = None,
) -> Optional[TppCertificate]:
    """The QWAC checks: required in strict mode; when sent (any mode) it must identify ``client_id``,
    chain to a trusted CA, be valid at the mock's ``now``, not be revoked and be a QWAC."""
    if unreadable:
        raise IdentityRefused(401, f"the client certificate cannot be read: {unreadable}")
    if cert is None:
        if is_strict(scenario):
            raise IdentityRefused(
                401, "a client certificate (QWAC) is required: connect with mutual TLS using your QWAC and its key"
            )
        return None
    try:
        check_certificate(
            cert, client_id=client_id, trusted_cas=scenario.trusted_cas,
            revoked_fingerprints=revoked_fingerprints(scenario, store), now=now,
        )
    except CertificateRejected as error:
        raise IdentityRefused(403, f"client certificate refused: {error.reason}") from None
    problem = _not_a_qwac(cert)
    if problem:
        raise IdentityRefused(403, problem)
    return cert


def check_request_signature(
    method: str, path_with_query: str, headers: Mapping[str, str], body: bytes, *,
    client_id: str, scenario, store: Store, now: datetime,
) -> Optional[TppCertificate]:
    """The QSealC checks on an API call: the signature (required in strict mode) must verify with a
    registered certificate of the token's TPP that is trusted, valid, not revoked and holds PSP_IC.
    Returns the signing certificate, or None when an unsigned call is accepted (lenient mode)."""
    # ``headers`` is the request's case-insensitive header map: looked up, never copied (hot path).
    signed = "Signature" in headers or headers.get("Authorization", "").lower().startswith("signature ")
    if not signed:
        if is_strict(scenario):
            raise IdentityRefused(401, "missing Signature header: API calls must be signed with the TPP's QSealC")
        if body and "Digest" in headers:
            try:  # a Digest sent without a signature is still checked: a TPP wants to know it is wrong
                check_digest(headers["Digest"], body)
            except SignatureRejected as error:
                raise IdentityRefused(401, error.reason) from None
        return None
    try:
        cert = verify_request(method, path_with_query, headers, body, scenario.certificate, DEFAULT_REQUIRED_HEADERS,
                              now=now)
    except SignatureRejected as error:
        raise IdentityRefused(401, error.reason) from None
    if cert.organization_identifier != client_id:
        raise IdentityRefused(
            403,
            f"certificate of another TPP: the QSealC belongs to {cert.organization_identifier}, "
            f"the access token to {client_id}",
        )
    try:
        types = qc_types(cert.certificate)
    except QcStatementError as error:
        raise IdentityRefused(403, f"QSealC has a malformed QcType statement: {error}") from None
    if types and QC_TYPE_ESEAL not in types:
        raise IdentityRefused(403, "the keyId names a QWAC, not a QSealC: sign API calls with the QSealC's key")
    try:
        check_certificate(
            cert, client_id=client_id, trusted_cas=scenario.trusted_cas,
            revoked_fingerprints=revoked_fingerprints(scenario, store), now=now, required_role=CARD_ISSUER_ROLE,
        )
    except CertificateRejected as error:
        raise IdentityRefused(403, f"QSealC refused: {error.reason}") from None
    return cert
