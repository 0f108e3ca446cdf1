"""POST /token, POST /revoke (RFC 7009) and the RFC 8414 metadata, through the test client."""
from __future__ import annotations

from datetime import timedelta

import pytest

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import (TppDriver, assert_error_model, assert_oauth_error, headless_code, headless_tokens,
                     scenario_variant, shipped_scenario)

OTHER_CLIENT = "PSDFR-ACPR-67890"


def api_status(tpp, access_token) -> int:
    return tpp.confirm(access_token).status_code


def test_code_exchange_answer(tpp):
    response = tpp.exchange(tpp.journey()["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "cbpii"


def test_code_reuse_is_refused_and_revokes_what_it_produced(tpp):
    code = tpp.journey()["code"]
    first = tpp.exchange(code).get_json()
    assert api_status(tpp, first["access_token"]) == 200
    assert_oauth_error(tpp.exchange(code), 400, "invalid_grant")
    assert_error_model(tpp.confirm(first["access_token"]), 401)
    assert_oauth_error(tpp.refresh(first["refresh_token"]), 400, "invalid_grant")


def test_scope_in_the_code_exchange_is_refused(tpp):
    code = tpp.journey()["code"]
    body = assert_oauth_error(tpp.exchange(code, scope="cbpii"), 400, "invalid_request")
    assert "scope" in body["error_description"]


def test_wrong_redirect_uri_is_invalid_grant(tpp):
    code = tpp.journey()["code"]
    response = tpp.token(grant_type="authorization_code", code=code, redirect_uri="http://localhost:8000/callback")
    assert_oauth_error(response, 400, "invalid_grant")
    assert tpp.exchange(code).status_code == 200  # the mistake did not burn the code


@pytest.fixture
def scenario_path(tmp_path):
    """For this module: default.yaml plus a second active TPP, so that a code can be presented by the
    wrong *registered* client (an unknown one is stopped earlier, as invalid_client)."""
    def add_tpp(document):
        document["tpps"].append({"client_id": OTHER_CLIENT, "name": "Autre Carte SA",
                                 "redirect_uris": [REDIRECT_URI]})
    return scenario_variant(tmp_path, "default", add_tpp)


def test_wrong_client_id_is_invalid_grant(tpp, client):
    code = tpp.journey()["code"]
    other = TppDriver(client, client_id=OTHER_CLIENT)
    body = assert_oauth_error(other.exchange(code), 400, "invalid_grant")
    assert "another client" in body["error_description"]
    assert tpp.exchange(code).status_code == 200


def test_expired_code(tpp, advance):
    code = tpp.journey()["code"]
    advance(timedelta(minutes=5, seconds=1))
    body = assert_oauth_error(tpp.exchange(code), 400, "invalid_grant")
    assert "expired" in body["error_description"]


def test_unknown_code(tpp):
    assert_oauth_error(tpp.exchange("not-a-code"), 400, "invalid_grant")


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer"])
def test_unsupported_grant_type(tpp, grant_type):
    assert_oauth_error(tpp.token(grant_type=grant_type), 400, "unsupported_grant_type")


def test_missing_grant_type(tpp):
    body = assert_oauth_error(tpp.token(code="x", redirect_uri=REDIRECT_URI), 400, "invalid_request")
    assert "grant_type" in body["error_description"]


@pytest.mark.parametrize("missing", ["code", "redirect_uri"])
def test_missing_code_or_redirect_uri(tpp, missing):
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI}
    del form[missing]
    assert missing in assert_oauth_error(tpp.token(**form), 400, "invalid_request")["error_description"]


def test_non_form_content_type_is_refused(client, tpp):
    code = tpp.journey()["code"]
    response = client.post("/token", json={"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID})
    assert_oauth_error(response, 400, "invalid_request")
    assert tpp.exchange(code).status_code == 200


def test_repeated_parameter_is_refused(client):
    response = client.post("/token", data="grant_type=authorization_code&grant_type=refresh_token",
                           content_type="application/x-www-form-urlencoded")
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("client_id", [None, "", "PSDFR-ACPR-99999"])
def test_unknown_client_is_invalid_client(client, client_id):
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI}
    if client_id is not None:
        form["client_id"] = client_id
    assert_oauth_error(client.post("/token", data=form), 401, "invalid_client")


@pytest.mark.parametrize("scenario_path", [shipped_scenario("revoked-tpp")])
def test_revoked_client_is_invalid_client(tpp):
    assert_oauth_error(tpp.exchange("x"), 401, "invalid_client")
    assert_oauth_error(tpp.refresh("x"), 401, "invalid_client")
    assert_oauth_error(tpp.client.post("/revoke", data={"client_id": CLIENT_ID, "token": "x"}), 401, "invalid_client")


def test_get_on_token_is_an_oauth_error_not_html(client):
    response = client.get("/token")
    assert response.status_code == 405 and response.mimetype == "application/json"


# -- refresh ---------------------------------------------------------------------------------
def test_refresh_keeps_the_refresh_token_and_kills_the_old_access_token(tpp, advance):
    first = tpp.tokens()
    advance(timedelta(minutes=10))
    response = tpp.refresh(first["refresh_token"])
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    renewed = response.get_json()
    assert renewed["refresh_token"] == first["refresh_token"]
    assert renewed["access_token"] != first["access_token"]
    assert_error_model(tpp.confirm(first["access_token"]), 401)
    assert api_status(tpp, renewed["access_token"]) == 200
    again = tpp.refresh(first["refresh_token"]).get_json()  # the same refresh token keeps working
    assert again["refresh_token"] == first["refresh_token"]
    assert_error_model(tpp.confirm(renewed["access_token"]), 401)


def test_access_token_dies_after_an_hour_while_refresh_still_works(tpp, advance):
    tokens = tpp.tokens()
    advance(timedelta(hours=1) - timedelta(seconds=1))
    assert api_status(tpp, tokens["access_token"]) == 200
    advance(timedelta(seconds=2))
    response = tpp.confirm(tokens["access_token"])
    assert_error_model(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer") and "invalid_token" in response.headers[
        "WWW-Authenticate"]
    renewed = tpp.refresh(tokens["refresh_token"])
    assert renewed.status_code == 200
    assert api_status(tpp, renewed.get_json()["access_token"]) == 200


def test_refresh_dies_180_days_after_the_strong_authentication(tpp, advance):
    code = tpp.journey()["code"]  # the PSU authenticates now
    advance(timedelta(minutes=4))  # the TPP exchanges the code a little later
    tokens = tpp.exchange(code).get_json()
    advance(timedelta(days=100))
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    advance(timedelta(days=80) - timedelta(minutes=4) - timedelta(seconds=1))
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    advance(timedelta(seconds=1))  # 180 days since the SCA, not yet since the code exchange
    body = assert_oauth_error(tpp.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert "strong authentication" in body["error_description"]
    # a new journey (new SCA) gives a working pair again
    assert api_status(tpp, tpp.tokens()["access_token"]) == 200


def test_refresh_of_unknown_or_missing_token(tpp):
    assert_oauth_error(tpp.refresh("nope"), 400, "invalid_grant")
    assert_oauth_error(tpp.token(grant_type="refresh_token"), 400, "invalid_request")


# -- one pair per PSU / TPP / role --------------------------------------------------------
def test_a_second_journey_kills_the_first_pair(tpp):
    first = tpp.tokens()
    bruno = headless_tokens(tpp, "bruno")
    second = tpp.tokens()
    assert_error_model(tpp.confirm(first["access_token"]), 401)
    assert_oauth_error(tpp.refresh(first["refresh_token"]), 400, "invalid_grant")
    assert api_status(tpp, second["access_token"]) == 200
    assert tpp.refresh(second["refresh_token"]).status_code == 200
    body = {"paymentCoverageRequestId": "r", "instructedAmount": {"currency": "EUR", "amount": "1"},
            "accountId": {"iban": "FR7630007000020009876540145"}}
    assert tpp.confirm(bruno["access_token"], body).status_code == 200  # another PSU's pair lives on


# -- revocation (RFC 7009) -----------------------------------------------------------------
def revoke(tpp, token, **extra):
    return tpp.client.post("/revoke", data={"client_id": tpp.client_id, "token": token, **extra})


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_either_token_revokes_both(tpp, which, hint):
    tokens = tpp.tokens()
    response = revoke(tpp, tokens[which], **({"token_type_hint": hint} if hint else {}))
    assert response.status_code == 200
    assert_error_model(tpp.confirm(tokens["access_token"]), 401)
    assert_oauth_error(tpp.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_revoking_unknown_or_already_revoked_tokens_is_200(tpp):
    assert revoke(tpp, "never-issued").status_code == 200
    tokens = tpp.tokens()
    assert revoke(tpp, tokens["refresh_token"]).status_code == 200
    assert revoke(tpp, tokens["refresh_token"]).status_code == 200
    assert revoke(tpp, tokens["access_token"]).status_code == 200


def test_revoke_needs_a_token_and_a_known_hint(tpp):
    assert_oauth_error(tpp.client.post("/revoke", data={"client_id": CLIENT_ID}), 400, "invalid_request")
    assert_oauth_error(revoke(tpp, "x", token_type_hint="id_token"), 400, "unsupported_token_type")


# -- RFC 8414 ----------------------------------------------------------------------------------
def test_authorization_server_metadata(client):
    response = client.get("/.well-known/oauth-authorization-server", base_url="http://30007.localhost:8080")
    assert response.status_code == 200
    meta = response.get_json()
    base = "http://30007.localhost:8080"
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/authorize"
    assert meta["token_endpoint"] == f"{base}/token"
    assert meta["revocation_endpoint"] == f"{base}/revoke"
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert set(meta["scopes_supported"]) == {"cbpii", "piisp"}


@pytest.mark.parametrize("host", ["99999.localhost", "www.99999.oba-bad-me-live.api.89c3.com"])
def test_metadata_of_an_unknown_bank_is_a_404_as_on_the_api(client, host):
    response = client.get("/.well-known/oauth-authorization-server", base_url=f"http://{host}")
    body = assert_error_model(response, 404)
    assert body["message"] == "no bank with code 99999 is served here"
    assert client.get("/.well-known/oauth-authorization-server", base_url="http://13807.localhost").status_code == 200


def test_metadata_endpoints_really_answer(client, tpp):
    meta = client.get("/.well-known/oauth-authorization-server").get_json()
    assert tpp.start().status_code == 303
    assert client.get(meta["authorization_endpoint"].replace(meta["issuer"], "") + "?client_id=x").status_code == 400
    assert client.post(meta["token_endpoint"].replace(meta["issuer"], ""), data={}).status_code in (400, 401)
    assert client.post(meta["revocation_endpoint"].replace(meta["issuer"], ""), data={}).status_code in (400, 401)


def test_headless_code_helper_matches_the_journey(tpp):
    assert tpp.exchange(headless_code(tpp, "bruno")).status_code == 200
