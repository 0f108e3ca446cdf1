import base64
import hashlib
from datetime import timedelta
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from werkzeug.datastructures import Headers

from mock_aspsp.tpp.signatures import (
    SignatureParams,
    SignatureRejected,
    check_digest,
    digest_header,
    fingerprint_from_key_id,
    make_key_id,
    parse_signature_header,
    sign_request,
    signing_string,
    verify_request,
)

import tpp_fixtures as fx

PATH = "/stet/psd2/v1.4.2/funds-confirmations"
BODY = (
    b'{"paymentCoverageRequestId":"MyCoverage123456","instructedAmount":{"currency":"EUR","amount":"12345"},'
    b'"accountId":{"iban":"FR7630007000111234567890144"}}'
)


@lru_cache(maxsize=None)
def ec_qsealc():
    return fx.leaf(key=fx.ec_key("qsealc"))


def registered():
    return {c.sha256: c for c in (fx.qsealc(), ec_qsealc())}


def resolve(fingerprint):
    return registered().get(fingerprint)


def key_id(cert=None):
    return make_key_id(fx.KEY_ID_PREFIX, (cert or fx.qsealc()).sha256)


def request_headers():
    return {
        "Host": "www.30007.oba-bad-me-live.api.89c3.com",
        "Authorization": "Bearer access-token",
        "Content-Type": "application/json",
        "X-Request-ID": "4bfae3e2-58f1-4b3a-9a45-0f7e1c3b5a10",
        "PSU-IP-Address": "192.0.2.10",
    }


def signed(body=BODY, headers=None, method="POST", *, key=None, **options):
    headers = headers if headers is not None else request_headers()
    options.setdefault("key_id", key_id())
    headers.update(sign_request(method, PATH, headers, body, private_key=key or fx.tpp().qsealc.private_key, **options))
    return headers


def verify(headers, body=BODY, method="POST", path=PATH, **options):
    return verify_request(method, path, headers, body, resolve, **options)


def rejected(headers, body=BODY, **options) -> str:
    with pytest.raises(SignatureRejected) as excinfo:
        verify(headers, body, **options)
    assert excinfo.value.reason == str(excinfo.value)
    return excinfo.value.reason


# --- good signatures ------------------------------------------------------------


def test_rsa_sha256_signature_verifies_and_names_the_certificate():
    headers = signed()
    assert headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert headers["Signature"].startswith(f'keyId="{key_id()}",algorithm="rsa-sha256",')
    assert 'headers="(request-target) x-request-id psu-ip-address digest"' in headers["Signature"]
    assert verify(headers) == fx.qsealc()


def test_hs2019_with_rsa_pss():
    assert verify(signed(algorithm="hs2019")) == fx.qsealc()


def test_hs2019_with_an_ec_key():
    cert = ec_qsealc()
    assert verify(signed(algorithm="hs2019", key=fx.ec_key("qsealc"), key_id=key_id(cert))) == cert


def test_hs2019_ec_variants_ecdsa_sha256_and_raw_r_s():
    cert = ec_qsealc()
    headers = request_headers()
    headers["Digest"] = digest_header(BODY)
    params = SignatureParams(key_id(cert), "hs2019", ("(request-target)", "x-request-id", "digest"), b"")
    data = signing_string("POST", PATH, headers, params).encode()
    der = fx.ec_key("qsealc").sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    for signature in (der, r.to_bytes(32, "big") + s.to_bytes(32, "big")):
        headers["Signature"] = (
            f'keyId="{key_id(cert)}",algorithm="hs2019",headers="(request-target) x-request-id digest",'
            f'signature="{base64.b64encode(signature).decode()}"'
        )
        assert verify(headers) == cert


def test_hs2019_with_rsa_pkcs1_v1_5_is_accepted():
    headers = request_headers()
    params = SignatureParams(key_id(), "hs2019", ("(request-target)", "x-request-id"), b"")
    data = signing_string("GET", PATH, headers, params).encode()
    signature = fx.tpp().qsealc.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id()}",algorithm="hs2019",headers="(request-target) x-request-id",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    assert verify(headers, body=b"", method="GET") == fx.qsealc()


def test_authorization_signature_form():
    headers = signed()
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert verify(headers) == fx.qsealc()


def test_request_without_body_needs_no_digest():
    headers = signed(body=b"", method="GET")
    assert "Digest" not in headers
    assert verify(headers, body=b"", method="GET") == fx.qsealc()


def test_header_names_are_case_insensitive():
    headers = {name.lower(): value for name, value in signed().items()}
    assert verify(headers) == fx.qsealc()


def test_werkzeug_headers_as_flask_passes_them():
    headers = Headers(list(signed().items()))
    assert verify(headers) == fx.qsealc()
    headers.add("X-Request-ID", "a second one")  # repeated headers are joined with ", " as the draft says
    assert rejected(headers).startswith("bad signature")


def test_query_string_is_part_of_the_request_target():
    headers = request_headers()
    headers.update(
        sign_request("GET", PATH + "?page=2", headers, b"", key_id=key_id(), private_key=fx.tpp().qsealc.private_key)
    )
    assert verify_request("GET", PATH + "?page=2", headers, b"", resolve) == fx.qsealc()
    with pytest.raises(SignatureRejected, match="bad signature"):
        verify_request("GET", PATH + "?page=3", headers, b"", resolve)


# --- each failure has its own message -------------------------------------------


def test_no_signature_header():
    headers = request_headers()
    assert rejected(headers) == "missing Signature header: API calls must be signed with the TPP's QSealC"


@pytest.mark.parametrize(
    "value, message",
    [
        ("garbage", "malformed Signature header near 'garbage'"),
        ('keyId="a_b",,', "malformed Signature header near ','"),
        ('algorithm="rsa-sha256",signature="AAAA"', "the 'keyId' parameter is missing"),
        ('keyId="x_y",algorithm="rsa-sha256"', "the 'signature' parameter is missing"),
        ('keyId="x_y",signature="not base64!"', "the 'signature' parameter is not base64"),
        ('keyId="x_y",keyId="x_z",signature="AAAA"', "parameter 'keyid' appears twice"),
        ('keyId="x_y",headers=" ",signature="AAAA"', "the 'headers' parameter is empty"),
        ('keyId="x_y",created="soon",signature="AAAA"', "the 'created' parameter is not a Unix time"),
    ],
)
def test_malformed_signature_header(value, message):
    headers = request_headers()
    headers["Signature"] = value
    reason = rejected(headers)
    assert reason.startswith("malformed Signature header")
    assert message in reason


def test_unsupported_algorithm():
    headers = signed()
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"')
    assert rejected(headers) == "unsupported signature algorithm 'hmac-sha256': use rsa-sha256 or hs2019"


def test_rsa_sha256_with_an_ec_key():
    cert = ec_qsealc()
    headers = signed(algorithm="hs2019", key=fx.ec_key("qsealc"), key_id=key_id(cert))
    headers["Signature"] = headers["Signature"].replace('algorithm="hs2019"', 'algorithm="rsa-sha256"')
    assert rejected(headers) == "algorithm rsa-sha256 needs an RSA key, but the QSealC has an EC key (use hs2019)"


@pytest.mark.parametrize(
    "bad_key_id, message",
    [
        ("https://tpp.example/certs/qsealc", "must end in '_' followed by the QSealC's SHA-256 fingerprint"),
        ("https://tpp.example/qsealc_" + "0" * 63, "which is not a SHA-256 fingerprint"),
        ("https://tpp.example/qsealc_" + "g" * 64, "which is not a SHA-256 fingerprint"),
        (
            "https://path.to/myQsealCertificate_612b4c7d103074b29e4c1ece1ef40bc575c0a87e",
            "ends in 40 hex digits (612b4c7d103074b29e4c1ece1ef40bc575c0a87e), a SHA-1 fingerprint",
        ),
    ],
)
def test_wrong_fingerprint_in_key_id(bad_key_id, message):
    assert message in rejected(signed(key_id=bad_key_id))


def test_fingerprint_from_key_id_accepts_uppercase():
    fingerprint = fx.qsealc().sha256
    assert fingerprint_from_key_id("https://x.example/a_b_" + fingerprint.upper()) == fingerprint


def test_unknown_key_id():
    qwac_fingerprint = fx.qwac().sha256
    assert rejected(signed(key_id=make_key_id(fx.KEY_ID_PREFIX, qwac_fingerprint))) == (
        f"unknown keyId: no registered certificate has SHA-256 fingerprint {qwac_fingerprint}"
    )


def test_resolver_returning_another_certificate():
    headers = signed()
    with pytest.raises(SignatureRejected, match="does not match the certificate found for it"):
        verify_request("POST", PATH, headers, BODY, lambda fingerprint: fx.qwac())


def test_tampered_body_fails_the_digest():
    headers = signed()
    tampered = BODY.replace(b"12345", b"99999")
    expected = base64.b64encode(hashlib.sha256(tampered).digest()).decode()
    assert rejected(headers, body=tampered) == (
        f"Digest mismatch: the body's SHA-256 is {expected}, the Digest header says {headers['Digest'][8:]}"
    )


def test_tampered_header_fails_the_signature():
    headers = signed()
    headers["X-Request-ID"] = "another-request"
    assert rejected(headers) == (
        "bad signature: it does not verify with the QSealC's public key over the signed headers "
        "((request-target) x-request-id psu-ip-address digest); "
        "a header value or the request target differs from what was signed"
    )


def test_signature_by_another_key_fails():
    headers = signed(key=fx.tpp().qwac.private_key)
    assert rejected(headers).startswith("bad signature")


def test_tampered_path_fails_the_signature():
    assert rejected(signed(), path="/stet/psd2/v1.4.2/other").startswith("bad signature")


def test_missing_signed_header():
    headers = signed(signed_headers=["(request-target)", "digest"])
    assert rejected(headers) == "the signature must cover 'x-request-id' (signed headers: (request-target) digest)"


def test_digest_must_be_signed_when_there_is_a_body():
    headers = signed(signed_headers=["(request-target)", "x-request-id"])
    assert rejected(headers) == "the signature must cover 'digest' (signed headers: (request-target) x-request-id)"


def test_required_headers_are_configurable():
    headers = signed(signed_headers=["(request-target)", "x-request-id", "digest"])
    assert verify(headers) == fx.qsealc()
    assert rejected(headers, required_headers=("(request-target)", "x-request-id", "psu-ip-address")) == (
        "the signature must cover 'psu-ip-address' (signed headers: (request-target) x-request-id digest)"
    )


def test_signed_header_absent_from_the_request():
    headers = signed()
    del headers["PSU-IP-Address"]
    assert rejected(headers) == "header 'psu-ip-address' is listed in the Signature headers but absent from the request"


def test_missing_digest_header():
    headers = signed()
    del headers["Digest"]
    assert rejected(headers) == "header 'digest' is listed in the Signature headers but absent from the request"
    with pytest.raises(SignatureRejected, match="missing Digest header: a request with a body must carry"):
        check_digest(None, BODY)


def test_malformed_digest_in_a_signed_request():
    headers = signed()
    headers["Digest"] = "SHA-256=not base64!"
    assert rejected(headers) == "malformed Digest header: the SHA-256 value is not base64"


@pytest.mark.parametrize(
    "value, message",
    [
        ("SHA-256", "expected SHA-256=<base64 of the body's SHA-256>"),
        ("=abc", "expected SHA-256=<base64 of the body's SHA-256>"),
        ("SHA-256=AAAA", "the SHA-256 value is not a SHA-256 hash"),
        ("MD5=HUXZLQLMuI/KZ5KDcJPcOA==", "no SHA-256 entry"),
    ],
)
def test_malformed_digest(value, message):
    with pytest.raises(SignatureRejected) as excinfo:
        check_digest(value, BODY)
    assert message in excinfo.value.reason


def test_digest_variants():
    sha512 = "SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    check_digest(digest_header(BODY).replace("SHA-256", "sha-256"), BODY)
    check_digest(sha512, BODY)
    check_digest(f"MD5=xxx, {digest_header(BODY)}", BODY)
    with pytest.raises(SignatureRejected, match="Digest mismatch: the body's SHA-512"):
        check_digest(sha512, BODY + b" ")


# --- building blocks ------------------------------------------------------------


def test_signing_string_follows_the_draft():
    headers = {"Host": "example.org", "Date": "Tue, 07 Jun 2014 20:51:35 GMT", "X-Dup": "a", "x-dup": " b "}
    params = SignatureParams(
        "k_x",
        "hs2019",
        ("(request-target)", "(created)", "(expires)", "host", "date", "x-dup"),
        b"",
        1402170695,
        1402170699,
    )
    assert signing_string("GET", "/foo?param=value&pet=dog", headers, params) == (
        "(request-target): get /foo?param=value&pet=dog\n"
        "(created): 1402170695\n"
        "(expires): 1402170699\n"
        "host: example.org\n"
        "date: Tue, 07 Jun 2014 20:51:35 GMT\n"
        "x-dup: a, b"
    )
    with pytest.raises(
        SignatureRejected, match=r"Signature headers list \(created\) but the header has no 'created' parameter"
    ):
        signing_string("GET", "/", {}, SignatureParams("k_x", None, ("(created)",), b""))


def test_parse_signature_header():
    params = parse_signature_header(
        'KeyId="https://a.example/q_ab", Algorithm="hs2019", created=1402170695, '
        'headers="(request-target) X-Request-ID", signature="AAEC", extension="ignored \\"quoted\\""'
    )
    assert params == SignatureParams(
        key_id="https://a.example/q_ab",
        algorithm="hs2019",
        headers=("(request-target)", "x-request-id"),
        signature=b"\x00\x01\x02",
        created=1402170695,
    )
    assert parse_signature_header('keyId="k_a",signature="AAEC"').headers == ("date",)


def test_sign_request_refuses_bad_input():
    key = fx.tpp().qsealc.private_key
    with pytest.raises(ValueError, match="unsupported algorithm"):
        sign_request("GET", "/", {}, b"", key_id="k", private_key=key, algorithm="hmac-sha256")
    with pytest.raises(ValueError, match="cannot contain"):
        sign_request("GET", "/", {}, b"", key_id='k"', private_key=key)
    with pytest.raises(ValueError, match="with an EC key and hs2019"):
        sign_request("GET", "/", {}, b"", key_id="k", private_key=fx.ec_key("qsealc"))


def test_certificate_checks_still_apply_to_the_signer():
    """verify_request only proves who signed; the caller then checks the certificate like at /token."""
    from mock_aspsp.tpp.certificates import CertificateRejected, check_certificate

    cert = verify(signed())
    with pytest.raises(CertificateRejected, match="has expired"):
        check_certificate(cert, trusted_cas=[fx.ca().certificate], now=cert.not_after + timedelta(days=1))
