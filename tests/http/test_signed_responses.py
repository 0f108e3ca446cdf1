"""The bank signs its funds-confirmation answers (README, "Signed responses"): ``Digest`` of the exact body and
a draft-cavage ``Signature`` by the bank's QSealC, verified here by an independent implementation (httpsig),
with the certificate fetched from the keyId URL; a fault rule corrupts it."""
from __future__ import annotations

import base64
import hashlib
import json
import re

import httpsig
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from mock_aspsp.bank.scenario import ScenarioError, parse_scenario
from mock_aspsp.resources import scenarios_dir
from mock_aspsp.tpp.qcstatements import psd2_qc_statement
from mock_aspsp.tpp.signatures import fingerprint_from_key_id
from support import assert_error_model, portal_body, scenario_variant, shipped_scenario

HOST = "30007.localhost"


def _signing(document):
    document.setdefault("settings", {})["sign_responses"] = True


@pytest.fixture
def scenario_path(tmp_path):
    return scenario_variant(tmp_path, "default", _signing)


@pytest.fixture
def token(tpp):
    return tpp.tokens(host=HOST)["access_token"]


def key_id_of(response) -> str:
    match = re.fullmatch(r'keyId="([^"]+)",algorithm="rsa-sha256",headers="digest x-request-id",signature="[^"]+"',
                         response.headers["Signature"])
    assert match, response.headers["Signature"]
    return match.group(1)


def bank_certificate(client, key_id) -> x509.Certificate:
    prefix = f"http://{HOST}"
    assert key_id.startswith(prefix + "/stet/psd2/certificates/"), key_id
    fetched = client.get(key_id[len(prefix):], base_url=prefix)
    assert fetched.status_code == 200 and fetched.mimetype == "application/pem-certificate-chain"
    return x509.load_pem_x509_certificate(fetched.data)


def verifies(response, certificate) -> bool:
    """httpsig's own reading of the Signature header, over the answer's headers, with the QSealC's public key."""
    public = certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    verifier = httpsig.HeaderVerifier(dict(response.headers), public, required_headers=["digest", "x-request-id"],
                                      sign_header="signature")
    return verifier.verify()


def test_a_200_carries_the_digest_of_its_exact_body_and_the_banks_signature(client, tpp, token):
    body = json.dumps(portal_body(payee="Café de la Gare"), ensure_ascii=False).encode()  # the digest is of bytes
    response = client.post("/stet/psd2/v1.4.2/funds-confirmations", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-signed-1"},
                           base_url=f"http://{HOST}")
    assert response.status_code == 200, response.get_json()
    expected = base64.b64encode(hashlib.sha256(response.data).digest()).decode()
    assert response.headers["Digest"] == f"SHA-256={expected}"
    assert "Café" in response.data.decode("utf-8")
    certificate = bank_certificate(client, key_id_of(response))
    assert verifies(response, certificate)
    # The keyId is STET's: the URL ends in _ and the certificate's SHA-256, and a TPP can check it.
    assert fingerprint_from_key_id(key_id_of(response)) == hashlib.sha256(
        certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    # The seal chains to the test CA that `mock-aspsp certs bank` names.
    ca = x509.load_pem_x509_certificate((scenarios_dir() / "certs" / "ca.pem").read_bytes())
    ca.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                           certificate.signature_hash_algorithm)
    assert psd2_qc_statement(certificate).roles == ("PSP_AS",)  # an account servicer's seal


def test_the_signature_binds_the_request_id_and_the_body(client, tpp, token):
    response = tpp.confirm(token, host=HOST, request_id="req-a")
    certificate = bank_certificate(client, key_id_of(response))
    response.headers["X-Request-ID"] = "req-b"
    assert not verifies(response, certificate)
    response.headers["X-Request-ID"] = "req-a"
    response.headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(b"{}").digest()).decode()
    assert not verifies(response, certificate)


def test_errors_are_not_signed(tpp):
    response = tpp.confirm("no-such-token", host=HOST)
    assert response.status_code == 401
    assert "Signature" not in response.headers and "Digest" not in response.headers


def test_a_bad_signature_rule_corrupts_the_signature_once_and_keeps_the_digest(client, tpp, token):
    added = client.post("/__admin/rules", json={"name": "tamper", "action": {"bad_signature": True}, "times": 1})
    assert added.status_code == 201, added.get_json()
    corrupted = tpp.confirm(token, host=HOST, request_id="req-bad")
    assert corrupted.status_code == 200
    expected = base64.b64encode(hashlib.sha256(corrupted.data).digest()).decode()
    assert corrupted.headers["Digest"] == f"SHA-256={expected}"
    certificate = bank_certificate(client, key_id_of(corrupted))
    assert not verifies(corrupted, certificate)
    assert verifies(tpp.confirm(token, host=HOST, request_id="req-good"), certificate)  # times: 1
    fired = {r["name"]: r["fired"] for r in client.get("/__admin/rules").get_json()["rules"]}
    assert fired["tamper"] == 1


@pytest.mark.parametrize(("rule", "problem"), [
    ({"action": {"bad_signature": True, "status": 503}}, "action.bad_signature: corrupts the signature of a 200"),
    ({"match": {"endpoint": "token"}, "action": {"bad_signature": True}},
     "action.bad_signature: only funds-confirmations answers are signed"),
    ({"action": {"bad_signature": False}}, "action.bad_signature"),
])
def test_the_admin_api_refuses_a_bad_signature_rule_that_cannot_work(client, rule, problem):
    refused = client.post("/__admin/rules", json=rule)
    assert refused.status_code == 422
    assert any(p.startswith(problem) for p in refused.get_json()["problems"]), refused.get_json()


def test_an_unknown_certificate_is_a_404(client):
    response = client.get("/stet/psd2/certificates/bank-qsealc_00", base_url=f"http://{HOST}")
    assert "the bank's QSealC is /stet/psd2/certificates/bank-qsealc_" in assert_error_model(response, 404, "v1")["message"]


def test_production_like_signs_and_default_does_not():
    assert parse_scenario(shipped_scenario("production-like").read_text(encoding="utf-8"),
                          str(shipped_scenario("production-like"))).settings.sign_responses is True
    assert parse_scenario(shipped_scenario("default").read_text(encoding="utf-8")).settings.sign_responses is False


def test_a_scenario_without_signed_answers_refuses_a_bad_signature_rule():
    text = shipped_scenario("default").read_text(encoding="utf-8") + "\nrules:\n  - action: {bad_signature: true}\n"
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text, "unsigned.yaml")
    assert [p.path for p in refused.value.problems] == ["rules[0].action.bad_signature"]
    assert "settings.sign_responses: true" in refused.value.problems[0].reason


def test_unsigned_scenarios_send_no_signature(tmp_path):
    from pathlib import Path

    from mock_aspsp.app import create_app
    from mock_aspsp.bank.clock import Clock
    from mock_aspsp.config import Config
    from support import START, TppDriver

    app = create_app(Config(scenario=shipped_scenario("default"), db=Path(tmp_path) / "s.sqlite3"),
                     Clock(real=lambda: START))
    tpp = TppDriver(app.test_client())
    response = tpp.confirm(tpp.tokens()["access_token"])
    assert response.status_code == 200 and "Signature" not in response.headers and "Digest" not in response.headers
    refused = app.test_client().post("/__admin/rules", json={"action": {"bad_signature": True}})
    assert refused.status_code == 422 and "settings.sign_responses: true" in " ".join(refused.get_json()["problems"])
