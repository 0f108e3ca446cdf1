import stat
from datetime import timedelta

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.tools import pki
from mock_aspsp.tpp.certificates import check_certificate, load_ca_bundle, load_certificate
from mock_aspsp.tpp.organization import InvalidOrganizationIdentifier
from mock_aspsp.tpp.qcstatements import QC_STATEMENTS_EXTENSION_OID, QcStatementError
from mock_aspsp.tpp.signatures import fingerprint_from_key_id, sign_request, verify_request

import tpp_fixtures as fx


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls).value


def test_ca_is_a_self_signed_root():
    ca = fx.ca().certificate
    assert ca.issuer == ca.subject
    assert _ext(ca, x509.BasicConstraints).ca is True
    assert _ext(ca, x509.KeyUsage).key_cert_sign is True
    ca.verify_directly_issued_by(ca)


def test_qwac_and_qsealc_are_shaped_like_a_qtsps():
    tpp = fx.tpp()
    qwac, qsealc = tpp.qwac.certificate, tpp.qsealc.certificate
    for cert in (qwac, qsealc):
        assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
        assert _ext(cert, x509.BasicConstraints).ca is False
        assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_IDENTIFIER)[0].value == fx.CLIENT_ID
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)[0].value == "FR"
        assert not cert.extensions.get_extension_for_oid(QC_STATEMENTS_EXTENSION_OID).critical
    assert list(_ext(qwac, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    seal_usage = _ext(qsealc, x509.KeyUsage)
    assert seal_usage.digital_signature and seal_usage.content_commitment and not seal_usage.key_encipherment
    qwac_statements = qwac.extensions.get_extension_for_oid(QC_STATEMENTS_EXTENSION_OID).value.value
    qsealc_statements = qsealc.extensions.get_extension_for_oid(QC_STATEMENTS_EXTENSION_OID).value.value
    assert bytes.fromhex("060704008e46010603") in qwac_statements  # id-etsi-qct-web 0.4.0.1862.1.6.3
    assert bytes.fromhex("060704008e46010602") in qsealc_statements  # id-etsi-qct-eseal 0.4.0.1862.1.6.2


def test_issued_certificates_pass_the_banks_checks():
    for cert in (fx.qwac(), fx.qsealc()):
        assert cert.roles == frozenset({"PSP_IC"})
        check_certificate(
            cert, client_id=fx.CLIENT_ID, trusted_cas=[fx.ca().certificate], now=fx.NOW, required_role="PSP_IC"
        )


def test_default_validity_starts_now_and_lasts_years():
    ca = pki.issue_ca("Quick CA", key=fx.rsa_key("ca"))
    tpp = pki.issue_tpp_certificates(
        ca, fx.CLIENT_ID, fx.NAME, ["PSP_IC", "PSP_AI"], qwac_key=fx.rsa_key("qwac"), qsealc_key=fx.rsa_key("qsealc")
    )
    cert = load_certificate(tpp.qsealc.cert_pem)
    assert cert.not_after - cert.not_before == pki.DEFAULT_VALIDITY
    assert cert.roles == frozenset({"PSP_IC", "PSP_AI"})
    assert cert.not_after > cert.not_before + timedelta(days=180 * 2)


def test_bad_input_is_refused_before_issuing():
    with pytest.raises(InvalidOrganizationIdentifier, match="must start with 'PSD'"):
        pki.issue_tpp_certificates(fx.ca(), "FR-ACPR-1", fx.NAME, ["PSP_IC"])
    with pytest.raises(QcStatementError, match="unknown PSD2 role 'CBPII'"):
        pki.issue_tpp_certificates(fx.ca(), fx.CLIENT_ID, fx.NAME, ["CBPII"], qwac_key=fx.rsa_key("qwac"))
    with pytest.raises(ValueError, match="kind must be"):
        pki.issue_certificate(fx.ca(), kind="tls", name="x", organization_identifier=None, statement=None)


def test_write_bundle(tmp_path):
    report = pki.write_bundle(
        tmp_path / "out", fx.ca(), fx.tpp(), client_id=fx.CLIENT_ID, name=fx.NAME, roles=["PSP_IC"]
    )
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["ca.pem", "ca.key", "qwac.pem", "qwac.key", "qsealc.pem", "qsealc.key"]
    )
    for name in ("ca.key", "qwac.key", "qsealc.key"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    qsealc = load_certificate((out / "qsealc.pem").read_bytes())
    assert qsealc.sha256 == report.qsealc_sha256 == fx.tpp().qsealc.sha256
    assert load_certificate((out / "qwac.pem").read_text()).sha256 == report.qwac_sha256
    assert load_ca_bundle((out / "ca.pem").read_bytes())[0] == fx.ca().certificate
    key = serialization.load_pem_private_key((out / "qsealc.key").read_bytes(), password=None)
    assert key.public_key() == qsealc.public_key

    assert report.key_id == f"https://tpp.example/certs/qsealc_{qsealc.sha256}"
    assert fingerprint_from_key_id(report.key_id) == qsealc.sha256
    assert report.files["ca.pem"] == out.resolve() / "ca.pem"

    snippet = yaml.safe_load(report.snippet)
    assert snippet == {
        "trusted_cas": [str(out.resolve() / "ca.pem")],
        "tpps": [
            {
                "client_id": fx.CLIENT_ID,
                "name": fx.NAME,
                "roles": ["PSP_IC"],
                "redirect_uris": ["https://tpp.example.com/callback"],  # as the shipped scenarios
                "certificates": [str(out.resolve() / "qwac.pem"), str(out.resolve() / "qsealc.pem")],
            }
        ],
    }


def test_snippet_registers_the_tpp_in_a_scenario(tmp_path):
    """The printed snippet, pasted into a scenario next to its banks, loads and indexes both certificates."""
    report = pki.write_bundle(tmp_path, fx.ca(), fx.tpp(), client_id=fx.CLIENT_ID, name=fx.NAME, roles=["PSP_IC"])
    path = tmp_path / "world.yaml"
    path.write_text('banks:\n  - code: "30007"\n    name: Banque\n' + report.snippet)
    scenario = read_scenario(path)[0]
    tpp = scenario.tpp(fx.CLIENT_ID)
    assert [c.sha256 for c in tpp.certificates] == [report.qwac_sha256, report.qsealc_sha256]
    assert scenario.certificate(report.qsealc_sha256).organization_identifier == fx.CLIENT_ID
    assert scenario.trusted_cas == (fx.ca().certificate,)


def test_write_bundle_keeps_existing_files_unless_told(tmp_path):
    (tmp_path / "ca.pem").write_text("precious")
    with pytest.raises(FileExistsError, match="refusing to overwrite .*ca.pem"):
        pki.write_bundle(tmp_path, fx.ca(), fx.tpp(), client_id=fx.CLIENT_ID, name=fx.NAME, roles=["PSP_IC"])
    assert (tmp_path / "ca.pem").read_text() == "precious"
    pki.write_bundle(
        tmp_path, fx.ca(), fx.tpp(), client_id=fx.CLIENT_ID, name=fx.NAME, roles=["PSP_IC"], overwrite=True
    )
    assert (tmp_path / "ca.pem").read_bytes() == fx.ca().cert_pem


def test_issue_bundle_end_to_end(tmp_path):
    """What `mock-aspsp certs issue` does, then a request signed with the printed keyId is accepted."""
    report = pki.issue_bundle(tmp_path, "PSDFR-ACPR-12345", 'My "quoted" TPP', ["PSP_IC"])
    assert yaml.safe_load(report.snippet)["tpps"][0]["name"] == 'My "quoted" TPP'
    qsealc = load_certificate(report.files["qsealc.pem"].read_bytes())
    trusted = load_ca_bundle(report.files["ca.pem"].read_bytes())
    check_certificate(
        load_certificate(report.files["qwac.pem"].read_bytes()),
        client_id="PSDFR-ACPR-12345",
        trusted_cas=trusted,
        now=qsealc.not_before + timedelta(days=1),
        required_role="PSP_IC",
    )
    key = serialization.load_pem_private_key(report.files["qsealc.key"].read_bytes(), password=None)
    headers = {"X-Request-ID": "r-1"}
    headers.update(
        sign_request("POST", "/v1/funds-confirmations", headers, b"{}", key_id=report.key_id, private_key=key)
    )
    registered = {report.qsealc_sha256: qsealc}
    assert verify_request("POST", "/v1/funds-confirmations", headers, b"{}", registered.get) == qsealc
