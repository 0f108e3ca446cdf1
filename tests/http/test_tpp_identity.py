"""TPP identity as the bank checks it, through the Flask test client (issue 3).

The QWAC arrives in the trusted proxy header (nginx's URL-escaped PEM), as
behind a TLS-terminating proxy; the served-process test does real mutual TLS.
Certificates are generated at test time; every check passes with the good
certificate and fails with its own message. Time only moves by the mock clock.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from mock_aspsp.tools.pki import Issued, TppCertificates, issue_ca, issue_certificate, issue_tpp_certificates
from mock_aspsp.tpp.qcstatements import Psd2QcStatement
from mock_aspsp.tpp.signatures import make_key_id, sign_request
from support import START, assert_error_model, assert_oauth_error, callback_params, portal_body, shipped_scenario

HEADER = "X-SSL-Client-Cert"
OTHER_ID = "PSDFR-ACPR-67890"
OTHER_REDIRECT = "https://other-tpp.example.com/callback"
BRUNO_IBAN = "FR7630007000020009876540145"  # default.yaml: headless PSU, approves at once
PATH = "/stet/psd2/v1.4.2/funds-confirmations"
KEY_ID_PREFIX = "https://tpp.example.com/certs/qsealc"
VALID = dict(not_before=START - timedelta(days=30), not_after=START + timedelta(days=365))
SHORT = dict(not_before=START - timedelta(days=30), not_after=START + timedelta(minutes=30))


# -- a test PKI, built once per module (key generation is the slow part) ------------------------
@lru_cache(maxsize=None)
def key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _statement(*roles: str) -> Psd2QcStatement:
    return Psd2QcStatement(roles=roles, nca_name="ACPR", nca_id="FR-ACPR")


def _leaf(ca: Issued, kind: str, label: str, client_id: str = CLIENT_ID, roles=("PSP_IC",), **validity) -> Issued:
    return issue_certificate(ca, kind=kind, name=f"TPP {label}", organization_identifier=client_id,
                             statement=_statement(*roles), key=key(label), **(validity or VALID))


@dataclass(frozen=True)
class Pki:
    ca: Issued
    good: TppCertificates
    other: TppCertificates        # PSDFR-ACPR-67890's own certificates
    untrusted_qwac: Issued        # CLIENT_ID's, from a CA the scenario does not trust
    untrusted_qsealc: Issued
    short_qwac: Issued            # valid until START + 30 min
    short_qsealc: Issued
    revoked_qwac: Issued          # listed in the scenario's revoked_certificates
    revoked_qsealc: Issued
    no_role_qsealc: Issued        # PSP_AI only


@lru_cache(maxsize=None)
def pki() -> Pki:
    ca = issue_ca("Test QTSP CA", key=key("ca"), not_before=START - timedelta(days=365))
    rogue = issue_ca("Rogue CA", key=key("rogue"), not_before=START - timedelta(days=365))
    return Pki(
        ca=ca,
        good=issue_tpp_certificates(ca, CLIENT_ID, "Carte Exemple SAS", ["PSP_IC"], **VALID,
                                    qwac_key=key("qwac"), qsealc_key=key("qsealc")),
        other=issue_tpp_certificates(ca, OTHER_ID, "Autre Carte SA", ["PSP_IC"], **VALID,
                                     qwac_key=key("other-qwac"), qsealc_key=key("other-qsealc")),
        untrusted_qwac=_leaf(rogue, "qwac", "untrusted-qwac"),
        untrusted_qsealc=_leaf(rogue, "qsealc", "untrusted-qsealc"),
        short_qwac=_leaf(ca, "qwac", "short-qwac", **SHORT),
        short_qsealc=_leaf(ca, "qsealc", "short-qsealc", **SHORT),
        revoked_qwac=_leaf(ca, "qwac", "revoked-qwac"),
        revoked_qsealc=_leaf(ca, "qsealc", "revoked-qsealc"),
        no_role_qsealc=_leaf(ca, "qsealc", "no-role-qsealc", roles=("PSP_AI",)),
    )


def world(directory: Path, strictness: str) -> Path:
    """default.yaml plus the TPP registry of this module, written under ``directory``.

    The CA is a path relative to the scenario's folder, the good QWAC an absolute path,
    the others inline PEM: the three ways a scenario names a certificate.
    """
    p = pki()
    (directory / "pki").mkdir(exist_ok=True)
    (directory / "pki" / "ca.pem").write_bytes(p.ca.cert_pem)
    (directory / "pki" / "qwac.pem").write_bytes(p.good.qwac.cert_pem)
    document = yaml.safe_load(shipped_scenario("default").read_text(encoding="utf-8"))
    document["settings"]["strictness"] = strictness
    document["trusted_cas"] = ["pki/ca.pem"]
    document["revoked_certificates"] = [p.revoked_qwac.sha256, p.revoked_qsealc.sha256.upper()]
    document["tpps"][0]["certificates"] = [str(directory / "pki" / "qwac.pem")] + [
        c.cert_pem.decode() for c in (p.good.qsealc, p.untrusted_qwac, p.untrusted_qsealc, p.short_qwac,
                                      p.short_qsealc, p.revoked_qwac, p.revoked_qsealc, p.no_role_qsealc)
    ]
    document["tpps"].append({
        "client_id": OTHER_ID, "name": "Autre Carte SA", "roles": ["PSP_IC"], "redirect_uris": [OTHER_REDIRECT],
        "certificates": [p.other.qwac.cert_pem.decode(), p.other.qsealc.cert_pem.decode()],
    })
    path = directory / "world.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def strictness():
    return "strict"


@pytest.fixture
def scenario_path(tmp_path, strictness):
    return world(tmp_path, strictness)


@pytest.fixture
def app(tmp_path, scenario_path):
    """The app behind a TLS-terminating proxy that forwards the client certificate in HEADER."""
    config = Config(scenario=Path(scenario_path), db=tmp_path / "state.sqlite3", client_cert_header=HEADER)
    return create_app(config, Clock(real=lambda: START))


# -- what a TPP sends ---------------------------------------------------------------------------
def escaped(issued: Issued) -> str:
    """The header value nginx forwards ($ssl_client_escaped_cert)."""
    return quote(issued.cert_pem.decode(), safe="")


def cert_header(qwac) -> dict:
    return {HEADER: escaped(qwac)} if qwac is not None else {}


def authorize(client, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, login="bruno"):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "cbpii",
             "state": "s-1", "login_hint": login}
    return client.get("/authorize", query_string=query)


def token(client, qwac="good", client_id=CLIENT_ID, **form):
    qwac = pki().good.qwac if qwac == "good" else qwac
    return client.post("/token", data={"client_id": client_id, **form}, headers=cert_header(qwac))


def exchange(client, qwac="good", client_id=CLIENT_ID, redirect_uri=REDIRECT_URI):
    code = callback_params(authorize(client, client_id, redirect_uri))["code"]
    return token(client, qwac, client_id, grant_type="authorization_code", code=code, redirect_uri=redirect_uri)


def access_token(client, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, qwac="good") -> str:
    qwac = (pki().good.qwac if client_id == CLIENT_ID else pki().other.qwac) if qwac == "good" else qwac
    response = exchange(client, qwac, client_id, redirect_uri)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def body_bytes(amount="100") -> bytes:
    return json.dumps(portal_body(amount=amount, iban=BRUNO_IBAN)).encode()


def signed_headers(access, body=None, *, seal=None, key_id=None, request_id="req-1", signed=None, path=PATH,
                   extra=None, **times):
    seal = seal or pki().good.qsealc
    body = body_bytes() if body is None else body
    headers = {"Authorization": f"Bearer {access}", "X-Request-ID": request_id, "Content-Type": "application/json",
               **(extra or {})}
    headers.update(sign_request("POST", path, headers, body, key_id=key_id or make_key_id(KEY_ID_PREFIX, seal.sha256),
                                private_key=seal.private_key, signed_headers=signed, **times))
    return headers


def confirm(client, headers, body=None, qwac="good", path=PATH):
    qwac = pki().good.qwac if qwac == "good" else qwac
    return client.post(path, data=body_bytes() if body is None else body, headers={**headers, **cert_header(qwac)})


def assert_funds_answer(response):
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"] is True


# -- QWAC at /token -------------------------------------------------------------------------------
def test_good_qwac_gets_tokens_and_a_signed_call_is_answered(client):
    access = access_token(client)
    assert_funds_answer(confirm(client, signed_headers(access)))


def test_no_client_certificate_in_strict_mode(client):
    body = assert_oauth_error(exchange(client, qwac=None), 401, "invalid_client")
    assert "a client certificate (QWAC) is required" in body["error_description"]


@pytest.mark.parametrize("qwac,message", [
    ("other", f"organizationIdentifier '{OTHER_ID}' does not match client_id '{CLIENT_ID}'"),
    ("untrusted_qwac", "certificate issuer 'O=Rogue CA,CN=Rogue CA' is not a trusted CA"),
    ("revoked_qwac", "is revoked"),
    ("qsealc", "client certificate is not a QWAC: its QcType is eseal"),
])
def test_refused_qwac_at_token_says_why(client, qwac, message):
    p = pki()
    cert = {"other": p.other.qwac, "qsealc": p.good.qsealc}.get(qwac) or getattr(p, qwac)
    body = assert_oauth_error(exchange(client, qwac=cert), 401, "invalid_client")
    assert body["error_description"].startswith("client certificate")
    assert message in body["error_description"]


def test_unreadable_client_certificate_header(client):
    code = callback_params(authorize(client))["code"]
    response = client.post("/token", headers={HEADER: "not%20a%20certificate"}, data={
        "client_id": CLIENT_ID, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "client certificate cannot be read: no '-----BEGIN CERTIFICATE-----' block" in body["error_description"]


def test_expired_qwac_after_the_clock_moves(client, advance):
    tokens = exchange(client, qwac=pki().short_qwac).get_json()
    advance(timedelta(minutes=31))
    body = assert_oauth_error(token(client, pki().short_qwac, grant_type="refresh_token",
                                    refresh_token=tokens["refresh_token"]), 401, "invalid_client")
    assert "client certificate refused: certificate has expired: valid until" in body["error_description"]
    renewed = token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()


def test_qwac_revoked_by_the_admin_api(client):
    good = pki().good.qwac
    assert exchange(client).status_code == 200
    answer = client.post("/__admin/certificates/revoke", json={"sha256": ":".join(
        good.sha256[i:i + 2].upper() for i in range(0, 64, 2))})
    assert answer.status_code == 200
    assert answer.get_json()["revoked"] == good.sha256 and answer.get_json()["client_id"] == CLIENT_ID
    body = assert_oauth_error(exchange(client), 401, "invalid_client")
    assert f"certificate {good.sha256} is revoked" in body["error_description"]
    client.post("/__admin/reset")
    assert exchange(client).status_code == 200


def test_revoke_endpoint_needs_the_qwac_too(client):
    tokens = exchange(client).get_json()
    refused = client.post("/revoke", data={"client_id": CLIENT_ID, "token": tokens["refresh_token"]})
    assert "a client certificate (QWAC) is required" in assert_oauth_error(refused, 401, "invalid_client")[
        "error_description"]
    ok = client.post("/revoke", data={"client_id": CLIENT_ID, "token": tokens["refresh_token"]},
                     headers=cert_header(pki().good.qwac))
    assert ok.status_code == 200


def test_certificate_header_is_ignored_unless_configured(tmp_path, scenario_path):
    plain = create_app(Config(scenario=Path(scenario_path), db=tmp_path / "other.sqlite3"),
                       Clock(real=lambda: START)).test_client()
    body = assert_oauth_error(exchange(plain), 401, "invalid_client")
    assert "a client certificate (QWAC) is required" in body["error_description"]


# -- QSealC signature on the API ------------------------------------------------------------------
@pytest.fixture
def access(client):
    return access_token(client)


def test_no_signature_in_strict_mode(client, access):
    headers = {"Authorization": f"Bearer {access}", "X-Request-ID": "req-1", "Content-Type": "application/json"}
    response = confirm(client, headers)
    assert_error_model(response, 401, names="missing Signature header: API calls must be signed with the TPP's QSealC")
    assert response.headers["WWW-Authenticate"].startswith("Signature ")


def test_no_client_certificate_on_the_api_in_strict_mode(client, access):
    assert_error_model(confirm(client, signed_headers(access), qwac=None), 401,
                       names="a client certificate (QWAC) is required")


def test_qwac_of_another_tpp_on_the_api(client, access):
    assert_error_model(confirm(client, signed_headers(access), qwac=pki().other.qwac), 403,
                       names=f"organizationIdentifier '{OTHER_ID}' does not match client_id '{CLIENT_ID}'")


def test_unknown_key_id(client, access):
    unknown = hashlib.sha256(b"no such certificate").hexdigest()
    response = confirm(client, signed_headers(access, key_id=make_key_id(KEY_ID_PREFIX, unknown)))
    assert_error_model(response, 401, names=f"unknown keyId: no registered certificate has SHA-256 fingerprint {unknown}")


def test_sha1_fingerprint_in_key_id(client, access):
    sha1 = hashlib.sha1(pki().good.qsealc.certificate.tbs_certificate_bytes).hexdigest()
    response = confirm(client, signed_headers(access, key_id=f"{KEY_ID_PREFIX}_{sha1}"))
    assert_error_model(response, 401, names="a SHA-1 fingerprint")


def test_key_id_naming_another_certificate(client, access):
    """The keyId names the QWAC's fingerprint, but the request is signed with the QSealC's key."""
    response = confirm(client, signed_headers(access, key_id=make_key_id(KEY_ID_PREFIX, pki().good.qwac.sha256)))
    assert_error_model(response, 401, names="bad signature: it does not verify with the QSealC's public key")


def test_tampered_body_fails_the_digest(client, access):
    headers = signed_headers(access)
    response = confirm(client, headers, body=body_bytes(amount="99999"))
    assert_error_model(response, 401, names="Digest mismatch: the body's SHA-256 is")


def test_tampered_header_fails_the_signature(client, access):
    headers = {**signed_headers(access), "X-Request-ID": "req-2"}
    assert_error_model(confirm(client, headers), 401, names="bad signature")


def test_tampered_request_target_fails_the_signature(client, access):
    headers = signed_headers(access, path="/stet/psd2/v1.6.2/funds-confirmations")
    assert_error_model(confirm(client, headers), 401, names="bad signature")


@pytest.mark.parametrize("signed,missing", [
    (["(request-target)", "digest"], "'x-request-id'"),
    (["(request-target)", "x-request-id"], "'digest'"),
    (["x-request-id", "digest"], "'(request-target)'"),
])
def test_missing_signed_header(client, access, signed, missing):
    response = confirm(client, signed_headers(access, signed=signed))
    assert_error_model(response, 401, names=f"the signature must cover {missing}")


def test_certificate_of_another_tpp(client, access):
    response = confirm(client, signed_headers(access, seal=pki().other.qsealc))
    assert_error_model(response, 403, names=f"certificate of another TPP: the QSealC belongs to {OTHER_ID}")


def test_qwac_used_as_the_signing_certificate(client, access):
    response = confirm(client, signed_headers(access, seal=pki().good.qwac))
    assert_error_model(response, 403, names="the keyId names a QWAC, not a QSealC")


@pytest.mark.parametrize("seal,message", [
    ("no_role_qsealc", "QSealC refused: certificate lacks the PSD2 role PSP_IC required here (roles: PSP_AI)"),
    ("untrusted_qsealc", "QSealC refused: certificate issuer 'O=Rogue CA,CN=Rogue CA' is not a trusted CA"),
    ("revoked_qsealc", "is revoked"),
])
def test_refused_qsealc_says_why(client, access, seal, message):
    response = confirm(client, signed_headers(access, seal=getattr(pki(), seal)))
    assert_error_model(response, 403, names=message)


def test_expired_qsealc_after_the_clock_moves(client, access, advance):
    assert_funds_answer(confirm(client, signed_headers(access, seal=pki().short_qsealc)))
    advance(timedelta(minutes=31))
    response = confirm(client, signed_headers(access, seal=pki().short_qsealc))
    assert_error_model(response, 403, names="QSealC refused: certificate has expired: valid until")
    assert_funds_answer(confirm(client, signed_headers(access)))


def test_qsealc_revoked_by_the_admin_api(client, access):
    seal = pki().good.qsealc
    assert client.post("/__admin/certificates/revoke", json={"sha256": seal.sha256}).status_code == 200
    response = confirm(client, signed_headers(access))
    assert_error_model(response, 403, names=f"QSealC refused: certificate {seal.sha256} is revoked")


# -- signed instants: (created), (expires), Date, against the mock clock ---------------------------
WITH_TIMES = ["(request-target)", "x-request-id", "digest", "(created)", "(expires)"]


def test_signed_created_and_expires_within_the_skew_are_accepted(client, access):
    now = int(START.timestamp())
    for created, expires in ((now, now + 60), (now + 299, now + 600), (now - 3600, now - 299)):
        headers = signed_headers(access, signed=WITH_TIMES, created=created, expires=expires)
        assert_funds_answer(confirm(client, headers))


@pytest.mark.parametrize("offset,expires_in,message", [
    (301, 600, "signature created in the future"),
    (-7200, -301, "signature expired"),
])
def test_signed_created_or_expires_beyond_the_skew_is_refused(client, access, offset, expires_in, message):
    now = int(START.timestamp())
    headers = signed_headers(access, signed=WITH_TIMES, created=now + offset, expires=now + expires_in)
    response = confirm(client, headers)
    assert_error_model(response, 401, names=message)
    assert "mock time" in response.get_json()["message"]


@pytest.mark.parametrize("created,expires,message", [
    (10 ** 20, 10 ** 20, "signature created in the future"),   # beyond the platform's time_t
    (253402300800, 253402300800, "signature created in the future"),  # year 10000
    (0, 10 ** 12, None),  # created long ago (allowed), expires in the year 33658
])
def test_signed_instants_beyond_any_calendar_are_a_401_not_a_500(client, access, created, expires, message):
    """Any digits pass as a Unix time: those no date can hold are compared, never turned into dates."""
    response = confirm(client, signed_headers(access, signed=WITH_TIMES, created=created, expires=expires))
    if message is None:
        assert_funds_answer(response)
    else:
        assert_error_model(response, 401, names=message)


def test_signed_instants_follow_the_mock_clock(client, access, advance):
    """Moved 50 minutes on, the bank's clock (mock time) is what a signed instant is compared with."""
    now = int(START.timestamp())
    advance(timedelta(minutes=50))
    headers = signed_headers(access, signed=WITH_TIMES, created=now, expires=now + 600)
    assert_error_model(confirm(client, headers), 401, names="signature expired")
    moved = now + 3000
    assert_funds_answer(confirm(client, signed_headers(access, signed=WITH_TIMES, created=moved, expires=moved + 60)))


@pytest.mark.parametrize("date,status,message", [
    ("Thu, 15 Jan 2026 10:00:00 GMT", 200, None),
    ("Thu, 15 Jan 2026 10:04:59 GMT", 200, None),
    ("Thu, 15 Jan 2026 10:05:01 GMT", 401, "signed Date"),
    ("Thu, 15 Jan 2026 09:00:00 GMT", 401, "signed Date"),
    ("yesterday", 401, "signed Date"),
    ("Fri, 31 Dec 9999 23:59:59 -2359", 401, "signed Date"),  # after the last instant a date can hold in UTC
    ("Mon, 01 Jan 0001 00:00:00 +2359", 401, "signed Date"),  # before the first one
])
def test_a_signed_date_is_checked_against_the_mock_clock(client, access, date, status, message):
    headers = signed_headers(access, extra={"Date": date})
    assert "date" in headers["Signature"]
    response = confirm(client, headers)
    if status == 200:
        assert_funds_answer(response)
    else:
        assert_error_model(response, 401, names=message)


def test_an_unsigned_date_is_not_checked(client, access):
    headers = signed_headers(access)
    assert_funds_answer(confirm(client, {**headers, "Date": "Thu, 01 Jan 1970 00:00:00 GMT"}))


def test_signature_in_the_journal(client, access):
    confirm(client, signed_headers(access, key_id=make_key_id(KEY_ID_PREFIX, "0" * 64)))
    entry = client.get("/__admin/requests?path=funds").get_json()["requests"][-1]
    assert entry["status"] == 401 and entry["client_id"] == CLIENT_ID
    assert entry["error"].startswith("unknown keyId")


# -- the registry: revoked and denied TPPs ----------------------------------------------------------
def _denied_world(directory: Path) -> Path:
    path = world(directory, "strict")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["tpps"][1]["denied"] = "account blocked by the bank's compliance team"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_tpp_denied_by_the_scenario(tmp_path):
    app = create_app(Config(scenario=_denied_world(tmp_path), db=tmp_path / "d.sqlite3", client_cert_header=HEADER),
                     Clock(real=lambda: START))
    client = app.test_client()
    reason = "the bank denies access to this TPP: account blocked by the bank's compliance team"
    params = callback_params(authorize(client, OTHER_ID, OTHER_REDIRECT, login="bruno"))
    assert params == {"error": "unauthorized_client", "error_description": reason, "state": "s-1"}
    response = token(client, pki().other.qwac, OTHER_ID, grant_type="authorization_code", code="x",
                     redirect_uri=OTHER_REDIRECT)
    assert assert_oauth_error(response, 401, "invalid_client")["error_description"] == reason


@pytest.mark.parametrize("change,reason", [
    ({"status": "revoked"}, "the TPP's profile is revoked at this bank"),
    ({"denied": "non-compliant API calls"}, "the bank denies access to this TPP: non-compliant API calls"),
])
def test_tpp_revoked_or_denied_by_the_admin_api_everywhere(client, change, reason):
    tokens = exchange(client).get_json()
    patched = client.patch(f"/__admin/tpps/{CLIENT_ID}", json=change)
    assert patched.status_code == 200
    assert patched.get_json()["status"] == change.get("status", "active")
    summary = client.get("/__admin/scenario").get_json()["tpps"][0]
    assert (summary["status"], summary["denied"]) == (change.get("status", "active"), change.get("denied"))
    params = callback_params(authorize(client))
    assert params["error"] == "unauthorized_client" and params["error_description"] == reason
    refused = token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert assert_oauth_error(refused, 401, "invalid_client")["error_description"] == reason
    assert_error_model(confirm(client, signed_headers(tokens["access_token"])), 403, names=reason)
    # Lifted: everything works again, the tokens included.
    lifted = client.patch(f"/__admin/tpps/{CLIENT_ID}", json={"status": "active", "denied": None}).get_json()
    assert lifted["status"] == "active" and lifted["denied"] is None
    assert_funds_answer(confirm(client, signed_headers(tokens["access_token"])))
    assert "code" in callback_params(authorize(client))


def test_scenario_revocation_can_be_lifted_by_the_admin_api(tmp_path):
    config = Config(scenario=shipped_scenario("revoked-tpp"), db=tmp_path / "r.sqlite3")
    client = create_app(config, Clock(real=lambda: START)).test_client()
    assert callback_params(authorize(client, login="paul"))["error"] == "unauthorized_client"
    assert client.patch(f"/__admin/tpps/{CLIENT_ID}", json={"status": "active"}).status_code == 200
    assert "code" in callback_params(authorize(client, login="paul"))


@pytest.mark.parametrize("url,body,status,message", [
    ("/__admin/tpps/PSDFR-ACPR-00000", {"status": "revoked"}, 404, "no TPP with client_id PSDFR-ACPR-00000"),
    (f"/__admin/tpps/{CLIENT_ID}", {"status": "suspended"}, 400, "status: must be one of active, revoked"),
    (f"/__admin/tpps/{CLIENT_ID}", {"roles": []}, 400, "unknown field(s) roles"),
    (f"/__admin/tpps/{CLIENT_ID}", {"denied": ""}, 400, "denied: must be the reason"),
    (f"/__admin/tpps/{CLIENT_ID}", {}, 400, "nothing to change"),
])
def test_admin_tpp_switch_is_validated(client, url, body, status, message):
    assert_error_model(client.patch(url, json=body), status, names=message)


@pytest.mark.parametrize("body", [{}, {"sha256": "abc"}, {"sha256": "z" * 64}])
def test_admin_certificate_revocation_is_validated(client, body):
    assert_error_model(client.post("/__admin/certificates/revoke", json=body), 400, names="sha256:")


# -- lenient: optional, but checked when sent ---------------------------------------------------------
@pytest.mark.parametrize("strictness", ["lenient"])
def test_lenient_plain_requests_work(client):
    access = access_token(client, qwac=None)
    headers = {"Authorization": f"Bearer {access}", "X-Request-ID": "req-1", "Content-Type": "application/json"}
    assert_funds_answer(confirm(client, headers, qwac=None))


@pytest.mark.parametrize("strictness", ["lenient"])
def test_lenient_checks_what_is_sent(client):
    body = assert_oauth_error(exchange(client, qwac=pki().untrusted_qwac), 401, "invalid_client")
    assert "is not a trusted CA" in body["error_description"]
    access = access_token(client, qwac=None)
    headers = {**signed_headers(access), "X-Request-ID": "req-2"}
    assert_error_model(confirm(client, headers, qwac=None), 401, names="bad signature")
    assert_funds_answer(confirm(client, signed_headers(access), qwac=None))
    digest_only = {"Authorization": f"Bearer {access}", "X-Request-ID": "r", "Content-Type": "application/json",
                   "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(b"other").digest()).decode()}
    assert_error_model(confirm(client, digest_only, qwac=None), 401, names="Digest mismatch")


@pytest.mark.parametrize("strictness", ["lenient"])
def test_lenient_role_comes_from_the_certificate_when_signed(client):
    """The scenario gives PSP_IC, but a QSealC without it is refused: the certificate speaks."""
    access = access_token(client, qwac=None)
    response = confirm(client, signed_headers(access, seal=pki().no_role_qsealc), qwac=None)
    assert_error_model(response, 403, names="lacks the PSD2 role PSP_IC")


# -- an independent signer: httpsig (draft-cavage) ---------------------------------------------------
def test_request_signed_by_httpsig_is_answered(client, access):
    from cryptography.hazmat.primitives import serialization
    from httpsig.sign import HeaderSigner

    seal = pki().good.qsealc
    body = body_bytes()
    headers = {"Authorization": f"Bearer {access}", "X-Request-ID": "httpsig-1", "Content-Type": "application/json",
               "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()}
    signer = HeaderSigner(
        key_id=make_key_id(KEY_ID_PREFIX, seal.sha256),
        secret=seal.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()),
        algorithm="rsa-sha256", headers=["(request-target)", "x-request-id", "digest"], sign_header="Signature",
    )
    signed = dict(signer.sign(headers, method="POST", path=PATH))
    assert_funds_answer(confirm(client, signed, body))
    signed["X-Request-ID"] = "httpsig-2"
    assert_error_model(confirm(client, signed, body), 401, names="bad signature")
