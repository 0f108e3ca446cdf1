"""A test PKI: a CA, and for a TPP a QWAC and a QSealC shaped like those of a real QTSP.

Both TPP certificates carry ``organizationIdentifier`` = the TPP's client_id
and the ETSI TS 119 495 PSD2 QCStatement, so a TPP can rehearse mutual TLS
and QSealC signatures against the mock without buying certificates.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..testing import TPP_REDIRECT_URI
from ..tpp.certificates import fingerprint
from ..tpp.organization import parse_organization_identifier
from ..tpp.qcstatements import QC_TYPE_ESEAL, QC_TYPE_WEB, Psd2QcStatement, qc_statements_extension
from ..tpp.signatures import make_key_id

DEFAULT_NCA_NAME = "Autorité de Contrôle Prudentiel et de Résolution"
DEFAULT_NCA_ID = "FR-ACPR"
#: Long enough that a QA run advancing the mock's clock past a 180-day refresh cycle keeps valid certificates.
DEFAULT_VALIDITY = timedelta(days=3 * 365)
CA_VALIDITY = timedelta(days=10 * 365)
DEFAULT_REDIRECT_URIS = (TPP_REDIRECT_URI,)  # the shipped scenarios' TPP
DEFAULT_KEY_ID_PREFIX = "https://tpp.example/certs/qsealc"
#: The bank's own seal (README, "Signed responses"): one for the whole sandbox, every establishment signs with it.
BANK_NAME = "mock-aspsp sandbox bank"
BANK_ORGANIZATION_IDENTIFIER = "PSDFR-ACPR-SANDBOX"
BANK_ROLES = ("PSP_AS",)  # account servicing: what an ASPSP's QSealC says

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)

    @property
    def sha256(self) -> str:
        return fingerprint(self.certificate)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass(frozen=True)
class TppCertificates:
    """The two certificates of a TPP: QWAC for mutual TLS, QSealC for HTTP signatures."""

    qwac: Issued
    qsealc: Issued


@dataclass(frozen=True)
class BundleReport:
    """What ``certs issue`` tells the user: where the files are, the keyId to sign with, a scenario snippet."""

    out_dir: Path
    files: dict[str, Path]
    key_id: str
    qwac_sha256: str
    qsealc_sha256: str
    snippet: str


def new_key() -> rsa.RSAPrivateKey:
    """An RSA 2048 key, the size QTSPs issue at minimum."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _validity(
    not_before: Optional[datetime], not_after: Optional[datetime], default: timedelta
) -> tuple[datetime, datetime]:
    # Backdated an hour so that a freshly issued certificate is valid despite small clock skew.
    start = not_before or datetime.now(timezone.utc) - timedelta(hours=1)
    return start, not_after or start + default


def issue_ca(
    name: str,
    *,
    key: Optional[PrivateKey] = None,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
) -> Issued:
    """A self-signed root CA named ``name`` (CN and O)."""
    key = key or new_key()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)]
    )
    start, end = _validity(not_before, not_after, CA_VALIDITY)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = (
        "digital_signature content_commitment key_encipherment data_encipherment key_agreement "
        "key_cert_sign crl_sign encipher_only decipher_only"
    ).split()
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _leaf_builder(
    ca: Issued, subject: x509.Name, key: PrivateKey, not_before: Optional[datetime], not_after: Optional[datetime]
) -> x509.CertificateBuilder:
    """What every end-entity certificate of the test CA has: issuer, validity, not a CA, the CA's key id."""
    start, end = _validity(not_before, not_after, DEFAULT_VALIDITY)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()), critical=False)
    )


def issue_certificate(
    ca: Issued,
    *,
    kind: str,
    name: str,
    organization_identifier: Optional[str],
    statement: Optional[Psd2QcStatement],
    country: str = "FR",
    key: Optional[PrivateKey] = None,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
) -> Issued:
    """A QWAC (``kind='qwac'``) or QSealC (``kind='qsealc'``) without checking its content.

    ``issue_tpp_certificates`` is the checked entry point; this one lets tests
    build the faulty certificates (no or a malformed organizationIdentifier,
    no QCStatement) that the bank must refuse.
    """
    if kind not in ("qwac", "qsealc"):
        raise ValueError(f"kind must be 'qwac' or 'qsealc', not {kind!r}")
    key = key or new_key()
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
    ]
    if organization_identifier is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    builder = _leaf_builder(ca, x509.Name(attributes), key, not_before, not_after).add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
    )
    if kind == "qwac":
        builder = builder.add_extension(
            _key_usage(digital_signature=True, key_encipherment=isinstance(key, rsa.RSAPrivateKey)), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    else:
        builder = builder.add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
    if statement is not None:
        qc_type = QC_TYPE_WEB if kind == "qwac" else QC_TYPE_ESEAL
        builder = builder.add_extension(qc_statements_extension(statement, qc_type=qc_type), critical=False)
    return Issued(builder.sign(ca.private_key, hashes.SHA256()), key)


def issue_tpp_certificates(
    ca: Issued,
    client_id: str,
    name: str,
    roles: Sequence[str],
    nca_name: str = DEFAULT_NCA_NAME,
    nca_id: str = DEFAULT_NCA_ID,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
    *,
    qwac_key: Optional[PrivateKey] = None,
    qsealc_key: Optional[PrivateKey] = None,
) -> TppCertificates:
    """A QWAC and a QSealC for the TPP ``client_id``, checked like the bank checks them.

    Raises InvalidOrganizationIdentifier for a bad client_id and
    QcStatementError for an unknown role; keys may be passed in (tests reuse
    one key to stay fast).
    """
    organization = parse_organization_identifier(client_id)
    statement = Psd2QcStatement(roles=tuple(roles), nca_name=nca_name, nca_id=nca_id)
    common = dict(
        name=name,
        organization_identifier=client_id,
        statement=statement,
        country=organization.country,
        not_before=not_before,
        not_after=not_after,
    )
    return TppCertificates(
        qwac=issue_certificate(ca, kind="qwac", key=qwac_key, **common),
        qsealc=issue_certificate(ca, kind="qsealc", key=qsealc_key, **common),
    )


def _snippet(
    ca_path: Path,
    client_id: str,
    name: str,
    roles: Sequence[str],
    redirect_uris: Sequence[str],
    certificate_paths: Sequence[Path],
) -> str:
    """YAML registering the TPP (the scenario format's ``trusted_cas`` and ``tpps`` keys); scalars are
    written as JSON strings, which YAML reads as they are. Paths are absolute, so the snippet works in a
    scenario file anywhere."""
    q = json.dumps
    lines = [
        "# Merge into a scenario (README, \"Certificates and signatures\"); with settings: {strictness: strict}",
        "# the bank requires the QWAC at /token and a QSealC signature on every API call.",
        "trusted_cas:",
        f"  - {q(str(ca_path))}",
        "tpps:",
        f"  - client_id: {q(client_id)}",
        f"    name: {q(name)}",
        f"    roles: [{', '.join(q(r) for r in roles)}]",
        "    redirect_uris:",
        *(f"      - {q(u)}" for u in redirect_uris),
        "    certificates:",
        *(f"      - {q(str(p))}  # {label}"
          for p, label in zip(certificate_paths, ("QWAC", "QSealC"), strict=True)),
    ]
    return "\n".join(lines) + "\n"


def registration_body(qsealc: Issued, name: str, redirect_uris: Sequence[str]) -> bytes:
    """A body for ``POST /stet/setting/v1/register`` (the registration API): the QSealC in the first JSON Web
    Key of ``jwks.keys`` (x5c: base64 DER), as the bank's portal asks on the first registration."""
    der = base64.b64encode(qsealc.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
    body = {
        "redirect_uris": list(redirect_uris),
        "token_endpoint_auth_method": "tls_client_auth",
        "grant_types": ["client_credentials"],
        "response_types": ["code"],
        "client_name": name,
        "jwks": {"keys": [{"kty": "RSA", "use": "sig", "x5c": [der]}]},
    }
    return json.dumps(body, indent=2).encode("utf-8") + b"\n"


def write_bundle(
    out_dir: Union[str, Path],
    ca: Issued,
    tpp: TppCertificates,
    *,
    client_id: str,
    name: str,
    roles: Sequence[str],
    redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS,
    key_id_prefix: str = DEFAULT_KEY_ID_PREFIX,
    overwrite: bool = False,
) -> BundleReport:
    """Write ca/qwac/qsealc ``.pem`` and ``.key`` files (keys readable by the owner only).

    Existing files are kept unless ``overwrite``: replacing a CA silently
    would break every TPP already issued from it.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "ca.pem": ca.cert_pem,
        "ca.key": ca.key_pem,
        "qwac.pem": tpp.qwac.cert_pem,
        "qwac.key": tpp.qwac.key_pem,
        "qsealc.pem": tpp.qsealc.cert_pem,
        "qsealc.key": tpp.qsealc.key_pem,
        "registration.json": registration_body(tpp.qsealc, name, redirect_uris),
    }
    files = {filename: out / filename for filename in contents}
    existing = [str(p) for p in files.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"refusing to overwrite {', '.join(existing)}")
    for filename, data in contents.items():
        path = files[filename]
        if filename.endswith(".key"):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(path, 0o600)
        else:
            path.write_bytes(data)
    fingerprints = (tpp.qwac.sha256, tpp.qsealc.sha256)
    return BundleReport(
        out_dir=out,
        files=files,
        key_id=make_key_id(key_id_prefix, tpp.qsealc.sha256),
        qwac_sha256=fingerprints[0],
        qsealc_sha256=fingerprints[1],
        snippet=_snippet(
            files["ca.pem"], client_id, name, roles, redirect_uris, (files["qwac.pem"], files["qsealc.pem"])
        ),
    )


def issue_bundle(
    out_dir: Union[str, Path],
    client_id: str,
    name: str,
    roles: Sequence[str],
    *,
    redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS,
    overwrite: bool = False,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
) -> BundleReport:
    """Everything ``mock-aspsp certs issue`` does: a new CA, the TPP's QWAC and QSealC, written to ``out_dir``.

    ``not_before`` / ``not_after`` bound the CA and both certificates alike (default: from an hour ago,
    3 years for the TPP's certificates and 10 for the CA).
    """
    ca = issue_ca(f"mock-aspsp test CA for {client_id}", not_before=not_before, not_after=not_after)
    tpp = issue_tpp_certificates(ca, client_id, name, roles, not_before=not_before, not_after=not_after)
    return write_bundle(
        out_dir, ca, tpp, client_id=client_id, name=name, roles=roles, redirect_uris=redirect_uris, overwrite=overwrite
    )


def issue_bank_qsealc(
    ca: Issued, *, not_before: Optional[datetime] = None, not_after: Optional[datetime] = None
) -> Issued:
    """The bank's QSealC, which signs its funds-confirmation answers: an eIDAS seal with the PSP_AS role."""
    statement = Psd2QcStatement(roles=BANK_ROLES, nca_name=DEFAULT_NCA_NAME, nca_id=DEFAULT_NCA_ID)
    return issue_certificate(ca, kind="qsealc", name=BANK_NAME, organization_identifier=BANK_ORGANIZATION_IDENTIFIER,
                             statement=statement, not_before=not_before, not_after=not_after)


def issue_server_certificate(
    ca: Issued,
    names: Sequence[str],
    *,
    key: Optional[PrivateKey] = None,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
) -> Issued:
    """A TLS server certificate for ``mock-aspsp serve --tls-cert``: host names and IP addresses as SANs."""
    import ipaddress

    if not names:
        raise ValueError("a server certificate needs at least one host name or IP address")
    key = key or new_key()
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    certificate = (
        _leaf_builder(ca, subject, key, not_before, not_after)
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.private_key, hashes.SHA256())
    )
    return Issued(certificate, key)


def load_issued(cert_path: Union[str, Path], key_path: Union[str, Path]) -> Issued:
    """A certificate and its key from PEM files (e.g. the ``ca.pem`` / ``ca.key`` of ``certs issue``)."""
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError(f"{key_path}: an RSA or EC private key is expected")
    return Issued(certificate, key)


def write_server_files(
    out_dir: Union[str, Path],
    ca: Issued,
    names: Sequence[str],
    *,
    overwrite: bool = False,
    not_before: Optional[datetime] = None,
    not_after: Optional[datetime] = None,
) -> dict[str, Path]:
    """Write ``server.pem`` and ``server.key`` (owner-only) for ``names``, issued by ``ca``."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    files = {"server.pem": out / "server.pem", "server.key": out / "server.key"}
    existing = [str(p) for p in files.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"refusing to overwrite {', '.join(existing)}")
    issued = issue_server_certificate(ca, names, not_before=not_before, not_after=not_after)
    files["server.pem"].write_bytes(issued.cert_pem)
    fd = os.open(files["server.key"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(issued.key_pem)
    os.chmod(files["server.key"], 0o600)
    return files
