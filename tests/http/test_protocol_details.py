"""Protocol details from the attack run: repeated /authorize parameters, what the served OpenAPI
documents promise, and what a 500 says about where its details are."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator

from mock_aspsp.stet.versions import VERSIONS
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import assert_error_model, assert_error_page, callback_params, portal_body

QUERY = [("response_type", "code"), ("client_id", CLIENT_ID), ("redirect_uri", REDIRECT_URI), ("scope", "cbpii"),
         ("state", "s-1")]
OTHER_REDIRECT = "http://localhost:8000/callback"  # also registered by the default scenario's TPP


def authorize(client, query):
    return client.get("/authorize?" + urlencode(query))


# -- RFC 6749 §3.1: a parameter sent twice ---------------------------------------------------
@pytest.mark.parametrize("name,value", [("redirect_uri", OTHER_REDIRECT), ("client_id", CLIENT_ID),
                                        ("redirect_uri", REDIRECT_URI)])
def test_a_repeated_client_id_or_redirect_uri_is_refused_on_a_page(client, name, value):
    """Which redirect URI is the TPP's is unknown: the bank sends nobody anywhere."""
    page = assert_error_page(authorize(client, QUERY + [(name, value)]), 400)
    assert name in page


@pytest.mark.parametrize("name,value", [("scope", "piisp"), ("state", "s-2"), ("response_type", "code"),
                                        ("login_hint", "bruno"), ("code_challenge", "x" * 43)])
def test_another_repeated_parameter_goes_back_to_the_tpp(client, name, value):
    query = QUERY + ([(name, value)] if name in dict(QUERY) else [(name, value), (name, value)])
    params = callback_params(authorize(client, query))
    assert params["error"] == "invalid_request"
    assert f"'{name}'" in params["error_description"] and "repeated" in params["error_description"]
    assert "code" not in params


def test_the_first_redirect_uri_no_longer_wins(client):
    response = authorize(client, [*QUERY[:2], ("redirect_uri", "https://evil.example/cb"), *QUERY[2:]])
    assert_error_page(response, 400)


# -- the served OpenAPI documents say what this bank accepts ---------------------------------
def request_validator(client, version):
    document = client.get(f"/stet/psd2/{version.prefix}/openapi.json").get_json()
    return Draft202012Validator({"components": document["components"],
                                 "$ref": "#/components/schemas/PaymentCoverageRequestResource"})


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.prefix)
def test_the_documents_require_an_iban_as_the_bank_does(client, tpp, version):
    validator = request_validator(client, version)
    assert validator.is_valid(portal_body())
    for account_id in ({}, {"other": {"identification": "1234", "schemeName": "CPAN"}}):
        assert not validator.is_valid(portal_body(accountId=account_id)), account_id
    document = client.get(f"/stet/psd2/{version.prefix}/openapi.json").get_json()
    assert "IBAN" in document["components"]["schemas"]["AccountIdentification"]["description"]


# -- a 500 says where its details are, and they are there ------------------------------------
@pytest.fixture
def broken_store(store, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(store, "grant_by_access_token", boom)
    monkeypatch.setattr(store, "grants", boom)


def test_an_api_500_is_journaled_with_the_error(client, broken_store):
    response = client.post("/stet/psd2/v1.4.2/funds-confirmations", json=portal_body(),
                           headers={"Authorization": "Bearer x", "X-Request-ID": "r-500"})
    body = assert_error_model(response, 500)
    assert "journal" in body["message"]
    entry = client.get("/__admin/requests?status=500").get_json()["requests"][-1]
    assert entry["x_request_id"] == "r-500"
    assert "RuntimeError" in entry["error"] and "simulated bug" in entry["error"]


def test_an_admin_500_does_not_send_to_the_journal(client, broken_store):
    body = assert_error_model(client.get("/__admin/tokens"), 500)
    assert "journal" not in body["message"] and "log" in body["message"]


# -- a body the server cannot read (its own framing error, e.g. chunked garbage under gunicorn) ----------
class _BrokenFraming:
    """A WSGI input whose server gave up on the framing: reading raises the server's own error type."""

    def read(self, *_):
        raise ValueError("invalid chunk size")

    readline = readinto = read


@pytest.mark.parametrize("path,headers,status", [
    ("/stet/psd2/v1.4.2/funds-confirmations", {"Authorization": "Bearer not-a-token", "X-Request-ID": "broken-1"}, 401),
    ("/stet/psd2/v1.4.2/funds-confirmations", {}, 401),
    ("/token", {}, 400),
])
def test_an_unreadable_body_never_makes_a_500_and_is_still_journaled(client, path, headers, status):
    """Refused before its body mattered, the request is journaled with no body: the journal's read of it
    must not turn the answer into a 500."""
    response = client.post(path, headers={**headers, "Content-Type": "application/json"},
                           environ_overrides={"wsgi.input": _BrokenFraming(), "CONTENT_LENGTH": "12"})
    assert response.status_code == status, response.get_data(as_text=True)
    entries = [e for e in client.get("/__admin/requests").get_json()["requests"] if e["path"] == path]
    assert entries and entries[-1]["status"] == status and entries[-1]["body"] == ""
