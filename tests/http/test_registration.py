"""The PSD2 registration API (issue 16 item 1) through the Flask test client, on both stores.

A TPP unknown to the scenario gets a registration token with its QWAC, registers with
its QSealC in ``jwks.keys``, and its generated client_id then completes a journey and a
funds check like a scenario TPP. Every refusal says what is wrong.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.tools.pki import Issued, issue_ca, issue_certificate, issue_tpp_certificates
from mock_aspsp.tpp.qcstatements import Psd2QcStatement
from mock_aspsp.tpp.signatures import make_key_id, sign_request
from support import START, assert_error_model, assert_oauth_error, assert_error_page, callback_params, \
    portal_body, shipped_scenario, signed_in

HEADER = "X-SSL-Client-Cert"
OID = "PSDFR-ACPR-99999"  # not in the scenario: it registers itself
OTHER_OID = "PSDFR-ACPR-88888"
REDIRECT = "https://new-tpp.example.com/callback"
REGISTER = "/stet/setting/v1/register"
VALID = dict(not_before=START - timedelta(days=30), not_after=START + timedelta(days=365))
BRUNO_IBAN = "FR7630007000020009876540145"


@lru_cache(maxsize=None)
def key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=None)
def ca() -> Issued:
    return issue_ca("Registration QTSP CA", key=key("ca"), not_before=START - timedelta(days=365))


@lru_cache(maxsize=None)
def certs():
    return issue_tpp_certificates(ca(), OID, "Nouvelle Carte SAS", ["PSP_IC"], **VALID, qwac_key=key("qwac"),
                                  qsealc_key=key("qsealc"))


@lru_cache(maxsize=None)
def other():
    return issue_tpp_certificates(ca(), OTHER_OID, "Autre SAS", ["PSP_IC"], **VALID, qwac_key=key("o-qwac"),
                                  qsealc_key=key("o-qsealc"))


@lru_cache(maxsize=None)
def leaf(label: str, roles=("PSP_IC",), issuer: str = "trusted") -> Issued:
    authority = ca() if issuer == "trusted" else issue_ca("Rogue CA", key=key("rogue"),
                                                         not_before=START - timedelta(days=365))
    return issue_certificate(authority, kind="qsealc", name="Nouvelle Carte SAS", organization_identifier=OID,
                             statement=Psd2QcStatement(roles=roles, nca_name="ACPR", nca_id="FR-ACPR"),
                             key=key(label), **VALID)


@pytest.fixture
def scenario_path(tmp_path):
    document = yaml.safe_load(shipped_scenario("default").read_text(encoding="utf-8"))
    document["trusted_cas"] = [ca().cert_pem.decode()]
    document["revoked_certificates"] = [leaf("revoked").sha256]
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def app(tmp_path, scenario_path, store_url):
    config = Config(scenario=Path(scenario_path), db=tmp_path / "state.sqlite3", store=store_url,
                    client_cert_header=HEADER)
    return create_app(config, Clock(real=lambda: START))


# -- what the TPP sends -----------------------------------------------------------------------------
def qwac_header(qwac: Issued) -> dict:
    return {HEADER: quote(qwac.cert_pem.decode(), safe="")}


def x5c(issued: Issued) -> str:
    return base64.b64encode(issued.certificate.public_bytes(serialization.Encoding.DER)).decode()


def registration_body(seal: Issued = None, **changes) -> dict:
    body = {
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "tls_client_auth",
        "grant_types": ["client_credentials"],
        "response_types": ["code"],
        "client_name": "Nouvelle Carte",
        "contacts": ["api@new-tpp.example.com"],
        "jwks": {"keys": [{"kty": "RSA", "use": "sig", "x5c": [x5c(seal or certs().qsealc)]}]},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def registration_token(client, qwac=None, path="/stet/psd2/oauth/token", **form):
    data = {"grant_type": "client_credentials", "scope": "manageRegistration", "client_id": "PSD2_TPPRegister",
            **form}
    return client.post(path, data=data, headers=qwac_header(qwac or certs().qwac))


def token_for(client, qwac=None) -> str:
    response = registration_token(client, qwac)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def call(client, method, path, body=None, *, token, seal: Issued = None, sign=True, qwac=None, request_id="r-1"):
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_id}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if sign:
        seal = seal or certs().qsealc
        headers.update(sign_request(method, path, headers, data, private_key=seal.private_key,
                                    key_id=make_key_id("https://new-tpp.example.com/qsealc", seal.sha256)))
    headers.update(qwac_header(qwac or certs().qwac))
    return client.open(path, method=method, data=data, headers=headers)


def register(client, body=None, **options):
    return call(client, "POST", REGISTER, registration_body() if body is None else body,
                token=options.pop("token", None) or token_for(client), **options)


def registered(client) -> str:
    response = register(client)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["client_id"]


# -- the registration token -------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/stet/psd2/oauth/token", "/token"])
def test_registration_token_by_client_credentials_with_the_qwac(client, path):
    response = registration_token(client, path=path)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scope"] == "manageRegistration" and body["token_type"] == "Bearer" and body["access_token"]
    assert response.headers["Cache-Control"] == "no-store"
    also = registration_token(client, client_id="9d8711ec-f1b4-45e4-8072-2b3aa49793f0")
    assert also.status_code == 200, also.get_json()


def test_registration_token_refusals(client):
    no_qwac = client.post("/stet/psd2/oauth/token", data={"grant_type": "client_credentials",
                                                          "scope": "manageRegistration",
                                                          "client_id": "PSD2_TPPRegister"})
    assert "QWAC" in assert_oauth_error(no_qwac, 401, "invalid_client")["error_description"]
    own_id = registration_token(client, client_id=OID)
    assert "PSD2_TPPRegister" in assert_oauth_error(own_id, 400, "unauthorized_client")["error_description"]
    scope = registration_token(client, scope="cbpii")
    assert "manageRegistration" in assert_oauth_error(scope, 400, "invalid_scope")["error_description"]
    rogue = registration_token(client, qwac=leaf("rogue-qwac", issuer="rogue"))
    assert "trusted CA" in assert_oauth_error(rogue, 401, "invalid_client")["error_description"]


# -- registering --------------------------------------------------------------------------------------
def test_register_returns_the_client_id_the_bank_generates(client):
    response = register(client)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert str(uuid.UUID(body["client_id"])) == body["client_id"]
    assert body["redirect_uris"] == [REDIRECT] and body["client_name"] == "Nouvelle Carte"
    assert response.headers["Location"] == f"{REGISTER}/{body['client_id']}"
    listed = client.get("/__admin/registrations").get_json()["registrations"]
    assert [(r["client_id"], r["organization_identifier"]) for r in listed] == [(body["client_id"], OID)]
    assert listed[0]["certificates"] == [certs().qsealc.sha256]


def signed_by_its_own(seal: Issued):
    """A registration whose jwks.keys[0] is ``seal``, signed by ``seal``."""
    return lambda client: register(client, registration_body(seal), seal=seal)


def raw_post(data: bytes, content_type="application/json"):
    """A registration whose body is ``data`` as sent, signed with the QSealC."""
    def send(client):
        headers = {"Authorization": f"Bearer {token_for(client)}", "X-Request-ID": "r-1",
                   "Content-Type": content_type}
        headers.update(sign_request("POST", REGISTER, headers, data, private_key=certs().qsealc.private_key,
                                    key_id=make_key_id("https://new-tpp.example.com/qsealc", certs().qsealc.sha256)))
        return client.post(REGISTER, data=data, headers={**headers, **qwac_header(certs().qwac)})
    return send


# Each refusal of POST /register: how the TPP gets it, the status, words of its message.
REFUSALS = {
    "unsigned": (lambda client: register(client, sign=False), 401, "missing Signature header"),
    "no certificate in keys": (lambda client: register(client, registration_body(jwks=None)), 400,
                               "QSealC certificate is missing"),
    "signed by another key than keys[0]": (lambda client: register(client, seal=leaf("second")), 401, "jwks.keys[0]"),
    "QSealC without PSP_IC": (signed_by_its_own(leaf("no-role", roles=("PSP_AI",))), 403, "PSP_IC"),
    "unknown field": (lambda client: register(client, registration_body(logo_colour="red")), 400, "logo_colour"),
    "client_id sent": (lambda client: register(client, registration_body(client_id="mine")), 400,
                       "the bank generates it"),
    "another TPP's QSealC": (signed_by_its_own(other().qsealc), 403, "organizationIdentifier mismatch"),
    "a second key of another TPP": (lambda client: register(client, registration_body(jwks={"keys": [
        {"kty": "RSA", "x5c": [x5c(certs().qsealc)]}, {"kty": "RSA", "x5c": [x5c(other().qsealc)]}]})), 403,
        "jwks.keys[1]: organizationIdentifier mismatch"),
    "untrusted QSealC": (signed_by_its_own(leaf("rogue-seal", issuer="rogue")), 403, "not a trusted CA"),
    "revoked QSealC": (signed_by_its_own(leaf("revoked")), 403, "revoked"),
    "x5c in PEM": (lambda client: register(client, registration_body(jwks={"keys": [
        {"kty": "RSA", "x5c": [certs().qsealc.cert_pem.decode()]}]})), 400, "not base64"),
    "not JSON": (raw_post(b'{"redirect_uris": ['), 400, "not valid JSON"),
    # A \udc00 escape is valid JSON but no text: stored as the name, it made the bank's pages for the TPP a 500.
    "a lone surrogate in the name": (raw_post(json.dumps(registration_body(client_name="Carte \udc00")).encode()),
                                     400, "lone surrogate"),
    "not application/json": (raw_post(json.dumps(registration_body()).encode(), "text/plain"), 415, "Content-Type"),
    "no registration token": (lambda client: call(client, "POST", REGISTER, registration_body(), token="nope"), 401,
                              "not a registration token"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_each_refused_registration_says_why_and_leaves_nothing_stored(client, case):
    send, status, words = REFUSALS[case]
    assert_error_model(send(client), status, names=words)
    assert client.get("/__admin/registrations").get_json() == {"registrations": []}


@pytest.mark.parametrize("uri, reason", [
    ("new-tpp.example.com/callback", "absolute"),
    ("http://new-tpp.example.com/callback", "https"),
    ("https://new-tpp.example.com/callback#top", "fragment"),
])
def test_registration_with_a_bad_redirect_uri_is_refused(client, uri, reason):
    response = register(client, registration_body(redirect_uris=[REDIRECT, uri]))
    assert_error_model(response, 400, names="redirect_uris[1]")
    assert reason in response.get_json()["message"]
    assert client.get("/__admin/registrations").get_json() == {"registrations": []}


def test_registration_needs_a_registration_token(client, advance):
    assert_error_model(call(client, "POST", REGISTER, registration_body(), token="nope"), 401,
                       names="not a registration token")
    token = token_for(client)
    advance(timedelta(hours=2))
    assert_error_model(register(client, token=token), 401, names="expired")


def test_an_access_token_of_the_funds_api_is_not_a_registration_token(client):
    access = journey_tokens(client, registered(client))["access_token"]
    assert_error_model(register(client, token=access), 401, names="not a registration token")
    assert len(client.get("/__admin/registrations").get_json()["registrations"]) == 1


# -- reading, changing, removing ----------------------------------------------------------------------
def test_read_change_and_delete_a_registration(client):
    client_id = registered(client)
    token = token_for(client)
    path = f"{REGISTER}/{client_id}"
    read = call(client, "GET", path, token=token)
    assert read.status_code == 200 and read.get_json()["redirect_uris"] == [REDIRECT]
    new_uri = "https://new-tpp.example.com/other"
    changed = call(client, "PUT", path, registration_body(client_id=client_id, redirect_uris=[new_uri], jwks=None),
                   token=token)
    assert changed.status_code == 200, changed.get_json()
    assert call(client, "GET", path, token=token).get_json()["redirect_uris"] == [new_uri]
    assert_error_model(call(client, "GET", path, token=token_for(client, other().qwac), seal=other().qsealc,
                            qwac=other().qwac), 403, names="another TPP")
    assert_error_model(call(client, "GET", path, token=token, sign=False), 401, names="missing Signature")
    assert call(client, "DELETE", path, token=token).status_code == 204
    assert_error_model(call(client, "GET", path, token=token), 404, names="no registration")


def test_put_with_jwks_replaces_the_qsealc(client):
    client_id = registered(client)
    token, path, renewed = token_for(client), f"{REGISTER}/{client_id}", leaf("renewed")
    changed = call(client, "PUT", path, registration_body(renewed), token=token)  # signed by the registered one
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["jwks"]["keys"][0]["x5c"] == [x5c(renewed)]
    listed = client.get(f"/__admin/registrations/{client_id}").get_json()
    assert listed["certificates"] == [renewed.sha256]
    assert call(client, "GET", path, token=token, seal=renewed).status_code == 200
    old = call(client, "GET", path, token=token)
    assert_error_model(old, 401, names="unknown keyId")
    tokens = journey_tokens(client, client_id)  # the API takes the new QSealC and no longer the old one
    assert_error_model(confirm(client, tokens["access_token"]), 401, names="unknown keyId")
    assert confirm(client, tokens["access_token"], seal=renewed).get_json()["result"] is True


def test_put_may_be_signed_by_the_new_qsealc(client):
    client_id = registered(client)
    renewed = leaf("renewed-self")
    changed = call(client, "PUT", f"{REGISTER}/{client_id}", registration_body(renewed), token=token_for(client),
                   seal=renewed)
    assert changed.status_code == 200, changed.get_json()
    assert client.get(f"/__admin/registrations/{client_id}").get_json()["certificates"] == [renewed.sha256]


# Each refusal of PUT /register/{client_id}: the body, the QSealC signing it, the status, words of its message.
PUT_REFUSALS = {
    "jwks of another TPP": (lambda: registration_body(other().qsealc), lambda: other().qsealc, 403,
                            "organizationIdentifier mismatch"),
    "jwks untrusted": (lambda: registration_body(leaf("rogue-put", issuer="rogue")), lambda: certs().qsealc, 403,
                       "not a trusted CA"),
    "jwks revoked": (lambda: registration_body(leaf("revoked")), lambda: certs().qsealc, 403, "revoked"),
    "jwks without PSP_IC": (lambda: registration_body(leaf("no-role-put", roles=("PSP_AI",))),
                            lambda: certs().qsealc, 403, "PSP_IC"),
    "signed by an unregistered key": (lambda: registration_body(jwks=None), lambda: leaf("stranger"), 401,
                                      "unknown keyId"),
    "bad redirect URI": (lambda: registration_body(redirect_uris=["http://new-tpp.example.com/cb"]),
                         lambda: certs().qsealc, 400, "redirect_uris[0]"),
    "another client_id": (lambda: registration_body(client_id="someone-else"), lambda: certs().qsealc, 400,
                          "differs from the client_id in the path"),
    "unknown field": (lambda: registration_body(logo_colour="red"), lambda: certs().qsealc, 400, "logo_colour"),
}


@pytest.mark.parametrize("case", PUT_REFUSALS)
def test_each_refused_change_says_why_and_leaves_the_registration_as_it_was(client, case):
    body, seal, status, words = PUT_REFUSALS[case]
    client_id = registered(client)
    before = client.get(f"/__admin/registrations/{client_id}").get_json()
    response = call(client, "PUT", f"{REGISTER}/{client_id}", body(), token=token_for(client), seal=seal())
    assert_error_model(response, status, names=words)
    assert client.get(f"/__admin/registrations/{client_id}").get_json() == before


# -- a registered client is a TPP of every bank ----------------------------------------------------
def authorize(client, client_id, redirect_uri=REDIRECT, host="localhost", login="bruno"):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "cbpii",
             "state": secrets.token_urlsafe(32), "login_hint": login}  # as a TPP ready to go live draws it
    return client.get("/stet/psd2/oauth/authorize", query_string=query, base_url=f"http://{host}")


def journey_tokens(client, client_id) -> dict:
    """bruno consents at once to ``client_id``; the code exchanged over mutual TLS with the QWAC."""
    code = callback_params(authorize(client, client_id))["code"]
    tokens = client.post("/token", headers=qwac_header(certs().qwac), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id})
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def confirm(client, access_token, request_id="f-1", seal: Issued = None):
    """A funds confirmation signed with the QSealC (the one registered first unless ``seal``)."""
    seal = seal or certs().qsealc
    body = json.dumps(portal_body(amount="100", iban=BRUNO_IBAN)).encode()
    path = "/stet/psd2/v1.4.2/funds-confirmations"
    headers = {"Authorization": f"Bearer {access_token}", "X-Request-ID": request_id,
               "Content-Type": "application/json"}
    headers.update(sign_request("POST", path, headers, body, private_key=seal.private_key,
                                key_id=make_key_id("https://new-tpp.example.com/qsealc", seal.sha256)))
    return client.post(path, data=body, headers={**headers, **qwac_header(certs().qwac)})


def test_registered_client_completes_a_journey_and_a_funds_check(client):
    client_id = registered(client)
    assert_error_page(authorize(client, client_id, "https://new-tpp.example.com/callback/"), 400)
    assert authorize(client, client_id, host="13807.localhost").status_code == 303  # a registration is for all banks
    tokens = journey_tokens(client, client_id)
    answer = confirm(client, tokens["access_token"])
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["result"] is True
    wrong_qwac = client.post("/token", headers=qwac_header(other().qwac), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id})
    assert "does not match" in assert_oauth_error(wrong_qwac, 401, "invalid_client")["error_description"]


@pytest.mark.parametrize("removed_by, reason", [
    ("TPP", "revoked with its registration, removed by the TPP"),
    ("bank", "revoked with its registration, removed by the bank"),
])
def test_removing_a_registration_kills_its_tokens_and_they_say_why(client, removed_by, reason):
    client_id = registered(client)
    tokens = journey_tokens(client, client_id)
    if removed_by == "TPP":
        assert call(client, "DELETE", f"{REGISTER}/{client_id}", token=token_for(client)).status_code == 204
    else:
        assert client.delete(f"/__admin/registrations/{client_id}").status_code == 200
    message = assert_error_model(confirm(client, tokens["access_token"]), 401)["message"]
    assert message == f"access token {reason} on 2026-01-15T10:00:00Z: this client_id is gone: register again"
    listed = client.get("/__admin/tokens").get_json()["tokens"]
    assert [(t["client_id"], t["revoked_reason"]) for t in listed] == [(client_id, reason)]


# -- the admin API ------------------------------------------------------------------------------------
def test_admin_removes_registrations_and_reset_clears_them(client):
    first, second = registered(client), registered(client)
    assert client.get(f"/__admin/registrations/{first}").get_json()["organization_identifier"] == OID
    assert client.delete(f"/__admin/registrations/{first}").get_json() == {"removed": [first]}
    assert_error_model(client.delete(f"/__admin/registrations/{first}"), 404)
    assert_error_page(authorize(client, first), 400)
    assert authorize(client, second).status_code in (302, 303)
    assert client.post("/__admin/reset").status_code == 200
    assert client.get("/__admin/registrations").get_json() == {"registrations": []}
    assert_error_model(register(client, token="gone-with-reset"), 401)


# -- go-live readiness: a registered client is judged like a scenario TPP -------------------------------
def test_a_registered_client_gets_its_go_live_report(client):
    client_id = registered(client)
    tokens = journey_tokens(client, client_id)
    assert confirm(client, tokens["access_token"]).status_code == 200
    report = client.get("/__admin/conformance", query_string={"client_id": client_id})
    assert report.status_code == 200, report.get_json()
    statuses = {c["id"]: c["status"] for c in report.get_json()["checks"]}
    assert statuses["signed-api-calls"] == statuses["qwac-at-token"] == statuses["unique-x-request-id"] == "passed"
    assert report.get_json()["client_id"] == client_id and report.get_json()["summary"]["failed"] == 0
    page = client.get("/__admin/conformance", query_string={"client_id": client_id, "format": "html"})
    assert page.status_code == 200 and "Go-live readiness of Nouvelle Carte" in page.get_data(as_text=True)
    junit = client.get("/__admin/conformance", query_string={"client_id": client_id, "format": "junit"})
    assert ElementTree.fromstring(junit.get_data()).get("name").endswith(client_id)


def test_a_registered_client_runs_a_conformance_plan(client):
    client_id = registered(client)
    tokens = journey_tokens(client, client_id)
    plan = client.post("/__admin/conformance/plans", json={"client_id": client_id, "modules": ["funds-false"]})
    assert plan.status_code == 201, plan.get_json()
    assert confirm(client, tokens["access_token"]).get_json()["result"] is False  # bruno has the funds: the module
    refreshed = client.post("/token", headers=qwac_header(certs().qwac), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id})
    assert refreshed.status_code == 200  # the TPP's next request: no repeat of the refused check
    [module] = client.get("/__admin/conformance", query_string={"client_id": client_id}).get_json()["modules"]
    assert (module["id"], module["status"]) == ("funds-false", "passed")


def test_a_removed_registration_gets_no_report_nor_plan(client):
    client_id = registered(client)
    assert client.delete(f"/__admin/registrations/{client_id}").status_code == 200
    assert_error_model(client.get("/__admin/conformance", query_string={"client_id": client_id}), 404)
    refused = client.post("/__admin/conformance/plans", json={"client_id": client_id, "modules": ["funds-false"]})
    assert refused.status_code == 422
    assert refused.get_json()["problems"] == [f"client_id: no TPP {client_id!r} in the scenario or registered"]


def test_the_consoles_go_live_page_lists_registered_clients_and_starts_their_plans(client):
    client_id = registered(client)
    confirm(client, journey_tokens(client, client_id)["access_token"])
    page = client.get("/__admin/ui/conformance").get_data(as_text=True)
    [card] = [c for c in page.split('<div class="card conformance-tpp">')[1:] if client_id in c]
    assert "Nouvelle Carte" in card and "registration API" in card
    summary = client.get("/__admin/conformance", query_string={"client_id": client_id}).get_json()["summary"]
    assert f"{summary['passed']} passed, {summary['failed']} failed" in card and summary["passed"] > 0
    assert f'<option value="{client_id}"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    started = client.post("/__admin/ui/conformance/plans",
                          data={"csrf_token": csrf, "client_id": client_id, "modules": "funds-false"})
    assert started.status_code == 201
    assert client.get("/__admin/conformance", query_string={"client_id": client_id}).get_json()["modules"][0]["id"] \
        == "funds-false"


def test_the_psus_dashboard_names_a_registered_client_by_its_client_name(client):
    """The PSU sees who may check its funds: a registered client by the name it registered, not its client_id."""
    client_id = registered(client)
    journey_tokens(client, client_id)
    page = signed_in(client, "bruno").get_data(as_text=True)
    assert "Nouvelle Carte" in page and client_id not in page
