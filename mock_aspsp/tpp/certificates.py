"""TPP certificates (QWAC and QSealC) and the checks the bank makes on them.

The bank identifies a TPP by the ``organizationIdentifier`` of its
certificate, checks that a trusted CA issued it, that it is in its validity
period and not revoked, and that it carries the PSD2 role the API needs
(portal, "Retrieve your token"). Each failure gets its own message so a TPP
can fix its certificate before going to production.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Optional, Union
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from .organization import InvalidOrganizationIdentifier, parse_organization_identifier
from .qcstatements import ROLE_OIDS, QcStatementError, psd2_qc_statement

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


class CertificateRejected(ValueError):
    """A certificate is unreadable or fails one of the bank's checks; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TppCertificate:
    """The facts the bank reads from a TPP certificate, plus the certificate itself."""

    organization_identifier: Optional[str]
    common_name: Optional[str]
    roles: frozenset[str]
    nca_name: Optional[str]
    nca_id: Optional[str]
    not_before: datetime
    not_after: datetime
    sha256: str
    serial: int
    issuer: str
    certificate: x509.Certificate = field(repr=False, compare=False)
    public_key: CertificatePublicKeyTypes = field(repr=False, compare=False)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex: how STET keyIds and the scenario name a certificate."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def normalize_fingerprint(text: str) -> str:
    """Accept ``AB:CD:..`` or mixed case as openssl prints it; compare in lowercase hex."""
    return text.replace(":", "").strip(" ").lower()  # spaces of a copy-paste, never a newline


def _der_from(data: Union[bytes, str]) -> bytes:
    """DER bytes from PEM, URL-escaped PEM (nginx ``$ssl_client_escaped_cert``), PEM whose
    newlines a proxy turned into spaces, or DER itself."""
    if isinstance(data, bytes):
        if data[:1] == b"\x30":  # a DER SEQUENCE; PEM and escaped PEM start with '-' or '%'
            return data
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise CertificateRejected("certificate is neither PEM nor DER") from None
    text = data.strip()
    if "%" in text:  # never in PEM itself, always in URL-escaped PEM ("-----BEGIN%20CERTIFICATE...")
        text = unquote(text)
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        raise CertificateRejected("no '-----BEGIN CERTIFICATE-----' block found (PEM expected)")
    if len(blocks) > 1:
        raise CertificateRejected(f"{len(blocks)} certificates given where one was expected")
    try:
        return base64.b64decode("".join(blocks[0].split()), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateRejected("the PEM certificate block is not valid base64") from None


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> Optional[str]:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def load_certificate(data: Union[bytes, str]) -> TppCertificate:
    """Read a TPP certificate; any unreadable input raises CertificateRejected, never anything else."""
    der = _der_from(data)
    try:
        certificate = x509.load_der_x509_certificate(der)
        statement = psd2_qc_statement(certificate)
        return TppCertificate(
            organization_identifier=_attribute(certificate.subject, NameOID.ORGANIZATION_IDENTIFIER),
            common_name=_attribute(certificate.subject, NameOID.COMMON_NAME),
            roles=frozenset(statement.roles) if statement else frozenset(),
            nca_name=statement.nca_name if statement else None,
            nca_id=statement.nca_id if statement else None,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            sha256=hashlib.sha256(der).hexdigest(),
            serial=certificate.serial_number,
            issuer=certificate.issuer.rfc4514_string(),
            certificate=certificate,
            public_key=certificate.public_key(),
        )
    except QcStatementError as exc:
        raise CertificateRejected(f"certificate has a malformed PSD2 QCStatement: {exc}") from None
    except Exception as exc:  # cryptography parses names and keys lazily and raises assorted types on bad DER
        detail = exc if isinstance(exc, ValueError) else f"{type(exc).__name__} {exc}"
        raise CertificateRejected(f"certificate cannot be parsed: {detail}") from None


def load_ca_bundle(data: Union[bytes, str]) -> tuple[x509.Certificate, ...]:
    """The CA certificates of a PEM file the scenario trusts (one or more blocks)."""
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        raise CertificateRejected("no '-----BEGIN CERTIFICATE-----' block found in the CA file")
    try:
        return tuple(x509.load_der_x509_certificate(base64.b64decode("".join(b.split()))) for b in blocks)
    except (binascii.Error, ValueError) as exc:
        raise CertificateRejected(f"CA certificate cannot be parsed: {exc}") from None


@lru_cache(maxsize=512)
def _issued_by_trusted_ca(certificate: x509.Certificate, trusted_cas: tuple[x509.Certificate, ...]) -> Optional[str]:
    """None if a trusted CA signed the certificate, else why not.

    Memoized: the answer depends on nothing else, and a signed API call would
    otherwise pay an RSA verification of the QSealC's chain every time.
    """
    issuers = [ca for ca in trusted_cas if ca.subject == certificate.issuer]
    if not issuers:
        return f"certificate issuer '{certificate.issuer.rfc4514_string()}' is not a trusted CA"
    for ca in issuers:
        try:
            certificate.verify_directly_issued_by(ca)
            return None
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
            continue
    return (
        f"certificate signature does not verify with the key of trusted CA "
        f"'{certificate.issuer.rfc4514_string()}' (same name, different CA)"
    )


def check_certificate(
    cert: TppCertificate,
    *,
    client_id: Optional[str] = None,
    trusted_cas: Sequence[x509.Certificate],
    revoked_fingerprints: Collection[str] = frozenset(),
    now: datetime,
    required_role: Optional[str] = None,
) -> None:
    """Raise CertificateRejected with a precise reason unless the bank would accept ``cert``.

    ``now`` is the mock's clock (aware datetime), so QA can move time past a
    certificate's expiry without touching the system clock.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    org_id = cert.organization_identifier
    if org_id is None:
        raise CertificateRejected("certificate subject has no organizationIdentifier (OID 2.5.4.97)")
    try:
        parse_organization_identifier(org_id)
    except InvalidOrganizationIdentifier as exc:
        raise CertificateRejected(f"certificate organizationIdentifier is malformed: {exc}") from None
    if client_id is not None and org_id != client_id:
        raise CertificateRejected(
            f"certificate organizationIdentifier {org_id!r} does not match client_id {client_id!r}"
        )
    problem = _issued_by_trusted_ca(cert.certificate, tuple(trusted_cas))
    if problem:
        raise CertificateRejected(problem)
    if now < cert.not_before:
        raise CertificateRejected(f"certificate is not yet valid: valid from {cert.not_before.isoformat()}")
    if now > cert.not_after:
        raise CertificateRejected(f"certificate has expired: valid until {cert.not_after.isoformat()}")
    if cert.sha256 in {normalize_fingerprint(f) for f in revoked_fingerprints}:
        raise CertificateRejected(f"certificate {cert.sha256} is revoked")
    if required_role is not None:
        if required_role not in ROLE_OIDS:
            raise ValueError(f"unknown PSD2 role {required_role!r}")
        if required_role not in cert.roles:
            held = ", ".join(sorted(cert.roles)) or "none (no PSD2 QCStatement)"
            raise CertificateRejected(f"certificate lacks the PSD2 role {required_role} required here (roles: {held})")
