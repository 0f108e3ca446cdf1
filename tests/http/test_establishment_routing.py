"""Establishment routing: the 5-digit bank code in the host name picks the bank; tokens stay at their bank."""
from __future__ import annotations

import pytest

from mock_aspsp.testing import PORTAL_IBAN
from support import assert_error_model, assert_error_page, assert_oauth_error, callback_params, portal_body

ERWAN_IBAN = "FR7613807000100001111110185"
ERWAN = {"login": "erwan", "password": "erwan-password", "otp": "654321", "iban": ERWAN_IBAN}
LIVE_HOST = "www.30007.oba-bad-me-live.api.89c3.com"


def test_erwan_gets_tokens_at_his_bank_and_they_work_only_there(tpp):
    tokens = tpp.tokens(host="13807.localhost", **ERWAN)
    body = portal_body(iban=ERWAN_IBAN, amount="1500")
    ok = tpp.confirm(tokens["access_token"], body, host="13807.localhost")
    assert ok.status_code == 200 and ok.get_json()["result"] is True
    assert tpp.confirm(tokens["access_token"], portal_body(iban=ERWAN_IBAN, amount="1500.01"),
                       host="13807.localhost:8080").get_json()["result"] is False
    for other in ("30007.localhost", "localhost", LIVE_HOST):
        response = tpp.confirm(tokens["access_token"], body, host=other)
        assert_error_model(response, 401)
        assert "invalid_token" in response.headers["WWW-Authenticate"]
    # refresh and revoke are bank-bound too
    assert_oauth_error(tpp.refresh(tokens["refresh_token"], host="30007.localhost"), 400, "invalid_grant")
    assert tpp.refresh(tokens["refresh_token"], host="13807.localhost").status_code == 200


def test_erwan_is_not_a_client_of_the_default_bank(tpp):
    location = tpp.start(host="30007.localhost").headers["Location"]
    response = tpp.post_step(location, "identify", host="30007.localhost", login="erwan", password="erwan-password",
                             action="continue")
    assert response.status_code == 401


def test_a_code_from_one_bank_is_refused_at_another(tpp):
    code = tpp.journey(host="13807.localhost", **ERWAN)["code"]
    assert_oauth_error(tpp.exchange(code, host="30007.localhost"), 400, "invalid_grant")
    assert tpp.exchange(code, host="13807.localhost").status_code == 200  # not burned by the mistake


def test_the_bank_page_names_the_bank(tpp):
    location = tpp.start(host="13807.localhost").headers["Location"]
    page = tpp.page(location, host="13807.localhost")[0].get_data(as_text=True)
    assert "Caisse Exemple Grand Ouest" in page


def test_the_sca_pages_are_bound_to_their_host(tpp):
    """A journey started at one bank's host is not continued at another's (the cookie is the host's)."""
    location = tpp.start(host="13807.localhost").headers["Location"]
    assert tpp.page(location, host="30007.localhost")[0].status_code == 403


@pytest.mark.parametrize("host", ["99999.localhost", "www.99999.oba-bad-me-live.api.89c3.com"])
def test_unknown_bank_code(tpp, client, host):
    assert_error_model(tpp.confirm("any-token", host=host), 404)
    assert "99999" in assert_error_model(
        client.post("/v1.4.2/funds-confirmations", json=portal_body(), base_url=f"http://{host}"), 404)["message"]
    page = assert_error_page(tpp.start(host=host), 404)
    assert "99999" in page
    assert_oauth_error(tpp.exchange("x", host=host), 404, "invalid_request")


def test_live_host_routes_to_30007(tpp):
    tokens = tpp.tokens(host=LIVE_HOST)
    for host in (LIVE_HOST, "30007.localhost", "localhost"):  # 30007 is also the default bank
        assert tpp.confirm(tokens["access_token"], host=host).get_json()["result"] is True
    assert_error_model(tpp.confirm(tokens["access_token"], host="13807.localhost"), 401)


def test_default_bank_answers_hosts_without_a_code(tpp):
    params = callback_params(tpp.start(host="127.0.0.1:8080", login_hint="bruno"))
    assert tpp.exchange(params["code"], host="30007.localhost").status_code == 200


def test_same_iban_name_space_is_per_bank(tpp):
    """Alice's portal IBAN is known at 30007 only: erwan's bank does not serve it."""
    tokens = tpp.tokens(host="13807.localhost", **ERWAN)
    response = tpp.confirm(tokens["access_token"], portal_body(iban=PORTAL_IBAN), host="13807.localhost")
    assert_error_model(response, 403, names="accountId.iban")
