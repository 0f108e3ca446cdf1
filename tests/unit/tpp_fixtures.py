"""Shared test PKI for the TPP tests: keys are generated once per session, certificates on demand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID
from mock_aspsp.tools.pki import Issued, TppCertificates, issue_ca, issue_certificate, issue_tpp_certificates
from mock_aspsp.tpp.certificates import TppCertificate, load_certificate
from mock_aspsp.tpp.qcstatements import Psd2QcStatement

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
NAME = "My TPP"
KEY_ID_PREFIX = "https://tpp.example/certs/qsealc"


@lru_cache(maxsize=None)
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """One RSA 2048 key per label for the whole session: key generation is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=None)
def ec_key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@lru_cache(maxsize=None)
def ca() -> Issued:
    return issue_ca("Test QTSP CA", key=rsa_key("ca"), not_before=NOW - timedelta(days=365))


@lru_cache(maxsize=None)
def impostor_ca() -> Issued:
    """Same name as the trusted CA, different key: a forged issuer."""
    return issue_ca("Test QTSP CA", key=rsa_key("impostor"), not_before=NOW - timedelta(days=365))


@lru_cache(maxsize=None)
def unknown_ca() -> Issued:
    return issue_ca("Some Other CA", key=rsa_key("impostor"), not_before=NOW - timedelta(days=365))


@lru_cache(maxsize=None)
def tpp() -> TppCertificates:
    return issue_tpp_certificates(
        ca(),
        CLIENT_ID,
        NAME,
        ["PSP_IC"],
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=365),
        qwac_key=rsa_key("qwac"),
        qsealc_key=rsa_key("qsealc"),
    )


def qsealc() -> TppCertificate:
    return load_certificate(tpp().qsealc.cert_pem)


def qwac() -> TppCertificate:
    return load_certificate(tpp().qwac.cert_pem)


def leaf(*, issuer: Issued | None = None, key=None, **overrides) -> TppCertificate:
    """A QSealC like the good one, with some field changed (the faulty certificates of the tests)."""
    fields = dict(
        kind="qsealc",
        name=NAME,
        organization_identifier=CLIENT_ID,
        statement=Psd2QcStatement(roles=("PSP_IC",), nca_name="ACPR", nca_id="FR-ACPR"),
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=365),
    )
    fields.update(overrides)
    issued = issue_certificate(issuer or ca(), key=key or rsa_key("leaf"), **fields)
    return load_certificate(issued.cert_pem)
