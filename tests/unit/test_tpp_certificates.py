import hashlib
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from mock_aspsp.tpp.certificates import (
    CertificateRejected,
    check_certificate,
    load_ca_bundle,
    load_certificate,
    normalize_fingerprint,
)
from mock_aspsp.tpp.qcstatements import QC_STATEMENTS_EXTENSION_OID, Psd2QcStatement

import tpp_fixtures as fx


def check(cert, **overrides):
    arguments = dict(client_id=fx.CLIENT_ID, trusted_cas=[fx.ca().certificate], now=fx.NOW, required_role="PSP_IC")
    arguments.update(overrides)
    check_certificate(cert, **arguments)


def rejected(cert, **overrides) -> str:
    with pytest.raises(CertificateRejected) as excinfo:
        check(cert, **overrides)
    assert excinfo.value.reason == str(excinfo.value)
    return excinfo.value.reason


# --- loading --------------------------------------------------------------------


def test_load_reads_what_the_bank_needs():
    issued = fx.tpp().qsealc
    cert = load_certificate(issued.cert_pem)
    assert cert.organization_identifier == fx.CLIENT_ID
    assert cert.common_name == fx.NAME
    assert cert.roles == frozenset({"PSP_IC"})
    assert cert.nca_name == "Autorité de Contrôle Prudentiel et de Résolution"
    assert cert.nca_id == "FR-ACPR"
    assert cert.not_before == fx.NOW - timedelta(days=30)
    assert cert.not_after == fx.NOW + timedelta(days=365)
    assert cert.not_before.utcoffset() == timedelta(0)
    assert cert.sha256 == hashlib.sha256(issued.certificate.public_bytes(Encoding.DER)).hexdigest()
    assert cert.serial == issued.certificate.serial_number
    assert cert.issuer == "O=Test QTSP CA,CN=Test QTSP CA"
    assert cert.certificate == issued.certificate
    assert cert.public_key == issued.private_key.public_key()


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda pem: pem.decode(), id="str"),
        pytest.param(lambda pem: quote(pem.decode(), safe=""), id="nginx-escaped"),
        pytest.param(lambda pem: quote(pem.decode(), safe="").encode(), id="nginx-escaped-bytes"),
        pytest.param(lambda pem: pem.decode().replace("\n", " "), id="newlines-as-spaces"),
        pytest.param(lambda pem: b"\n  " + pem + b"\n", id="surrounding-whitespace"),
        pytest.param(lambda pem: load_certificate(pem).certificate.public_bytes(Encoding.DER), id="der"),
    ],
)
def test_load_accepts_what_proxies_send(transform):
    pem = fx.tpp().qwac.cert_pem
    assert load_certificate(transform(pem)).sha256 == fx.tpp().qwac.sha256


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "no '-----BEGIN CERTIFICATE-----' block found"),
        ("hello", "no '-----BEGIN CERTIFICATE-----' block found"),
        (b"\xff\xfe", "neither PEM nor DER"),
        (b"\x30\x03\x02\x01\x00", "certificate cannot be parsed"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----", "not valid base64"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "certificate cannot be parsed"),
    ],
)
def test_unreadable_input_is_rejected_clearly(data, message):
    with pytest.raises(CertificateRejected) as excinfo:
        load_certificate(data)
    assert message in excinfo.value.reason


def test_two_certificates_where_one_is_expected():
    with pytest.raises(CertificateRejected, match="2 certificates given where one was expected"):
        load_certificate(fx.tpp().qwac.cert_pem + fx.tpp().qsealc.cert_pem)


def test_malformed_qc_statement_is_rejected_at_load():
    key = fx.rsa_key("leaf")
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "bad")]))
        .issuer_name(fx.ca().certificate.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(fx.NOW)
        .not_valid_after(fx.NOW + timedelta(days=1))
        .add_extension(x509.UnrecognizedExtension(QC_STATEMENTS_EXTENSION_OID, b"\x30\x09garbage"), critical=False)
        .sign(fx.ca().private_key, hashes.SHA256())
    )
    with pytest.raises(CertificateRejected, match="malformed PSD2 QCStatement: QCStatements: length 9"):
        load_certificate(cert.public_bytes(Encoding.PEM))


def test_ca_bundle_holds_every_certificate():
    bundle = load_ca_bundle(fx.ca().cert_pem + fx.unknown_ca().cert_pem)
    assert [c.subject.rfc4514_string() for c in bundle] == [
        "O=Test QTSP CA,CN=Test QTSP CA",
        "O=Some Other CA,CN=Some Other CA",
    ]
    with pytest.raises(CertificateRejected, match="no '-----BEGIN CERTIFICATE-----' block found in the CA file"):
        load_ca_bundle(b"nothing")


# --- checks ---------------------------------------------------------------------


def test_good_certificates_pass():
    check(fx.qwac())
    check(fx.qsealc())
    check(fx.qsealc(), client_id=None, required_role=None)


def test_wrong_organization_identifier():
    assert rejected(fx.qwac(), client_id="PSDFR-ACPR-99999") == (
        "certificate organizationIdentifier 'PSDFR-ACPR-12345' does not match client_id 'PSDFR-ACPR-99999'"
    )


def test_missing_organization_identifier():
    assert rejected(fx.leaf(organization_identifier=None)) == (
        "certificate subject has no organizationIdentifier (OID 2.5.4.97)"
    )


def test_malformed_organization_identifier():
    reason = rejected(fx.leaf(organization_identifier="FR-ACPR-12345"), client_id="FR-ACPR-12345")
    assert reason.startswith("certificate organizationIdentifier is malformed: ")
    assert "must start with 'PSD'" in reason


def test_untrusted_ca():
    reason = rejected(fx.leaf(issuer=fx.unknown_ca()))
    assert reason == "certificate issuer 'O=Some Other CA,CN=Some Other CA' is not a trusted CA"


def test_forged_issuer_with_the_trusted_name():
    reason = rejected(fx.leaf(issuer=fx.impostor_ca()))
    assert reason == (
        "certificate signature does not verify with the key of trusted CA 'O=Test QTSP CA,CN=Test QTSP CA' "
        "(same name, different CA)"
    )


def test_any_of_several_trusted_cas_will_do():
    check(fx.leaf(issuer=fx.impostor_ca()), trusted_cas=[fx.ca().certificate, fx.impostor_ca().certificate])
    check(fx.qwac(), trusted_cas=[fx.unknown_ca().certificate, fx.ca().certificate])


def test_expired_by_the_mocks_clock():
    cert = fx.qwac()
    check(cert, now=cert.not_after)
    assert rejected(cert, now=cert.not_after + timedelta(seconds=1)) == (
        "certificate has expired: valid until 2026-03-01T12:00:00+00:00"
    )


def test_not_yet_valid_by_the_mocks_clock():
    cert = fx.qwac()
    check(cert, now=cert.not_before)
    assert rejected(cert, now=cert.not_before - timedelta(seconds=1)) == (
        "certificate is not yet valid: valid from 2025-01-30T12:00:00+00:00"
    )


def test_revoked():
    cert = fx.qwac()
    openssl_style = ":".join(cert.sha256[i : i + 2] for i in range(0, 64, 2)).upper()
    assert rejected(cert, revoked_fingerprints={openssl_style}) == f"certificate {cert.sha256} is revoked"
    check(cert, revoked_fingerprints={fx.qsealc().sha256})


def test_missing_role():
    reason = rejected(fx.leaf(statement=Psd2QcStatement(roles=("PSP_AI", "PSP_PI"), nca_name="ACPR", nca_id="FR-ACPR")))
    assert reason == "certificate lacks the PSD2 role PSP_IC required here (roles: PSP_AI, PSP_PI)"


def test_no_qc_statement_means_no_role():
    cert = fx.leaf(statement=None)
    assert cert.roles == frozenset() and cert.nca_id is None
    assert rejected(cert) == "certificate lacks the PSD2 role PSP_IC required here (roles: none (no PSD2 QCStatement))"


def test_programming_errors_are_not_rejections():
    with pytest.raises(ValueError, match="unknown PSD2 role 'PSP_XX'"):
        check(fx.qwac(), required_role="PSP_XX")
    with pytest.raises(ValueError, match="timezone-aware"):
        check(fx.qwac(), now=fx.NOW.replace(tzinfo=None))


def test_normalize_fingerprint():
    assert normalize_fingerprint(" AB:cd:0F ") == "abcd0f"


@pytest.mark.filterwarnings("ignore")
def test_mutated_certificates_never_crash_loading_or_checking():
    import random

    rng = random.Random(42)
    der = fx.tpp().qsealc.certificate.public_bytes(Encoding.DER)
    for _ in range(400):
        mutated = bytearray(der)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            cert = load_certificate(bytes(mutated[: rng.randrange(len(der) // 2, len(der) + 1)]))
            check(cert)
        except CertificateRejected:
            pass
