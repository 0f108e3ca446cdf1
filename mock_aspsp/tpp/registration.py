"""The bank's PSD2 registration API as its portal documents it, without HTTP.

A TPP first gets a registration token (``client_credentials``, scope
``manageRegistration``, the portal's generic registration client_id, mutual TLS
with its QWAC), then registers its application with ``POST
/stet/setting/v1/register``: the body (``schemas/registration.schema.json``)
carries its redirect URIs and, on the first registration, its QSealC as the
first JSON Web Key of ``jwks.keys``; the request is signed with that QSealC.
The bank generates the client_id (a UUID, like the portal's own generic id);
one registration applies to every establishment. The registered client is then
a TPP like the scenario's (``as_tpp``): its redirect URIs enforced exactly,
its QWAC and QSealC checked against the registering TPP's organizationIdentifier.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Optional
from urllib.parse import urlsplit

from ..formats.quoting import quoted
from .certificates import CertificateRejected, TppCertificate, load_certificate

SCOPE = "manageRegistration"
#: The generic registration client_ids the portal publishes ("Accessibility": one for each environment).
GENERIC_CLIENT_IDS = ("PSD2_TPPRegister", "9d8711ec-f1b4-45e4-8072-2b3aa49793f0")
SCHEMA_FILE = "registration.schema.json"
REQUEST_DEFINITION = "RegistrationRequest"
LOOPBACK_HOSTS = ("localhost",)


class RegistrationRefused(Exception):
    """A registration request the bank refuses; ``status`` as the API answers it (400, 401, 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Registration:
    """A registered client as the store keeps it (``to_dict``)."""

    client_id: str
    organization_identifier: str
    metadata: dict  # the body as registered, without client_id (echoed by GET)
    certificates: tuple[str, ...]  # the QSealC certificates of jwks.keys, base64 DER as sent
    registered_at: float
    updated_at: float

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return tuple(self.metadata["redirect_uris"])

    @property
    def name(self) -> str:
        return self.metadata.get("client_name") or self.organization_identifier

    def to_dict(self) -> dict:
        return {"client_id": self.client_id, "organization_identifier": self.organization_identifier,
                "metadata": self.metadata, "certificates": list(self.certificates),
                "registered_at": self.registered_at, "updated_at": self.updated_at}

    @classmethod
    def from_dict(cls, data: dict) -> "Registration":
        return cls(data["client_id"], data["organization_identifier"], data["metadata"],
                   tuple(data["certificates"]), data["registered_at"], data["updated_at"])

    def parsed_certificates(self) -> tuple[TppCertificate, ...]:
        return tuple(_parsed(c) for c in self.certificates)

    def as_tpp(self) -> "RegisteredTpp":
        """The client as every bank of the scenario sees it: its roles are its QSealC's."""
        certificates = self.parsed_certificates()
        roles = frozenset(role for c in certificates for role in c.roles)
        return RegisteredTpp(client_id=self.client_id, name=self.name, roles=roles, redirect_uris=self.redirect_uris,
                             certificates=certificates, organization_identifier=self.organization_identifier)

    def answer(self) -> dict:
        """The RFC 7591 §3.2.1 answer: the generated client_id, when it was issued, the metadata."""
        return {"client_id": self.client_id, "client_id_issued_at": int(self.registered_at), **self.metadata}


@dataclass(frozen=True)
class RegisteredTpp:
    """A registered client, read by the endpoints as a scenario's ``Tpp`` (same attributes; the admin API's
    changes apply to it the same way): its certificates must carry ``organization_identifier``, the
    registering TPP's, not the client_id the bank generated."""

    client_id: str
    name: str
    roles: frozenset[str]
    redirect_uris: tuple[str, ...]
    certificates: tuple[TppCertificate, ...]
    organization_identifier: str
    status: str = "active"
    denied: Optional[str] = None
    registered: ClassVar[bool] = True


@lru_cache(maxsize=256)
def _parsed(x5c: str) -> TppCertificate:
    """A stored certificate, read once per process (API calls of a registered client resolve it each time)."""
    return load_certificate(base64.b64decode(x5c))


def new_client_id() -> str:
    return str(uuid.uuid4())


def key_certificates(body: dict) -> tuple[tuple[str, TppCertificate], ...]:
    """The certificates of ``jwks.keys`` (the x5c[0] of each key, base64 DER), read; the first is the QSealC."""
    found = []
    for i, jwk in enumerate(body.get("jwks", {}).get("keys", [])):
        text = jwk["x5c"][0]
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise RegistrationRefused(400, f"jwks.keys[{i}].x5c[0]: not base64 (RFC 7517: base64 of the DER "
                                           "certificate, not PEM)") from None
        try:
            found.append(("".join(text.split()), load_certificate(der)))
        except CertificateRejected as error:
            raise RegistrationRefused(400, f"jwks.keys[{i}].x5c[0]: {error.reason}") from None
    return tuple(found)


def redirect_uri_problem(uri: str) -> Optional[str]:
    """Why a redirect URI cannot be registered (RFC 6749 §3.1.2: absolute, no fragment; https, or http on
    the TPP's own machine for development), or None."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        return f"{quoted(uri, 64)} is not a URI: {error}"
    if not parts.scheme or not parts.netloc or not parts.hostname:
        return f"{quoted(uri, 64)} is not an absolute URI (scheme and host are required)"
    if any(c.isspace() or ord(c) < 32 for c in uri):
        return f"{quoted(uri, 64)} contains white space or control characters"
    if parts.fragment or uri.endswith("#"):
        return f"{quoted(uri, 64)} has a fragment, which a redirect URI must not have (RFC 6749 §3.1.2)"
    if parts.username is not None or parts.password is not None:
        return f"{quoted(uri, 64)} carries user information, which the bank will not redirect to"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _loopback(parts.hostname):
        return None
    return f"{quoted(uri, 64)} must use https (http only for localhost or a loopback address)"


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uris(body: dict) -> None:
    for i, uri in enumerate(body["redirect_uris"]):
        problem = redirect_uri_problem(uri)
        if problem:
            raise RegistrationRefused(400, f"redirect_uris[{i}]: {problem}")
