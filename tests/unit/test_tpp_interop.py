"""Interop with httpsig (pycryptodome-based, draft-cavage): a TPP's signing code is not ours."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from httpsig.sign import HeaderSigner
from httpsig.verify import HeaderVerifier

from mock_aspsp.tpp.signatures import SignatureRejected, make_key_id, sign_request, verify_request

import tpp_fixtures as fx

PATH = "/stet/psd2/v1.4.2/funds-confirmations"
BODY = b'{"paymentCoverageRequestId":"MyCoverage123456","instructedAmount":{"currency":"EUR","amount":"12345"}}'
SIGNED = ["(request-target)", "x-request-id", "digest", "psu-ip-address"]


def resolve(fingerprint):
    cert = fx.qsealc()
    return cert if fingerprint == cert.sha256 else None


def request_headers():
    return {
        "Content-Type": "application/json",
        "X-Request-ID": "0c8b1f2e-interop",
        "PSU-IP-Address": "192.0.2.10",
        # Digest computed here with hashlib, independently of our digest_header().
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
    }


def httpsig_signed(sign_header):
    signer = HeaderSigner(
        key_id=make_key_id(fx.KEY_ID_PREFIX, fx.qsealc().sha256),
        secret=fx.tpp().qsealc.key_pem,
        algorithm="rsa-sha256",
        headers=SIGNED,
        sign_header=sign_header,
    )
    return dict(signer.sign(request_headers(), method="POST", path=PATH))


@pytest.mark.parametrize("sign_header", ["Signature", "authorization"])
def test_request_signed_by_httpsig_verifies(sign_header):
    headers = httpsig_signed(sign_header)
    assert verify_request("POST", PATH, headers, BODY, resolve) == fx.qsealc()


def test_request_signed_by_httpsig_then_tampered_is_refused():
    headers = httpsig_signed("Signature")
    headers["psu-ip-address"] = "198.51.100.7"
    with pytest.raises(SignatureRejected, match="bad signature"):
        verify_request("POST", PATH, headers, BODY, resolve)


def test_our_signature_verifies_with_httpsig():
    headers = request_headers()
    headers.update(
        sign_request(
            "POST",
            PATH,
            headers,
            BODY,
            key_id=make_key_id(fx.KEY_ID_PREFIX, fx.qsealc().sha256),
            private_key=fx.tpp().qsealc.private_key,
            signed_headers=SIGNED,
        )
    )
    public_pem = (
        fx.tpp()
        .qsealc.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    verifier = HeaderVerifier(
        headers, public_pem, required_headers=SIGNED, method="POST", path=PATH, sign_header="Signature"
    )
    assert verifier.verify()
