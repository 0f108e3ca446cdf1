"""Why a token died, as the TPP reads it: each reason on /token (refresh) and on the funds API, and in the
journal, on both stores (the ``app`` fixture runs every test on SQLite and on Redis).

One live token pair per PSU / TPP / bank: a new consent replaces the pair; a refresh replaces the access
token alone. A token this bank never issued says so, in words of its own.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from mock_aspsp.testing import TPP_REDIRECT_URI as REDIRECT_URI
from support import TppDriver, assert_error_model, assert_oauth_error, headless_tokens, portal_body, scenario_variant

BRUNO_IBAN = "FR7630007000020009876540145"
OTHER_CLIENT = "PSDFR-ACPR-67890"
CONSENT_AGAIN = "redirect the PSU to /authorize again"


@pytest.fixture
def scenario_path(tmp_path):
    """default.yaml with a second TPP, and refresh tokens that expire (30 days) before the PSU's strong
    authentication is too old (180 days), so that each refusal can be seen on its own."""
    def change(document):
        document["tpps"].append({"client_id": OTHER_CLIENT, "name": "Autre Carte SA",
                                 "redirect_uris": [REDIRECT_URI]})
        document["settings"]["tokens"]["refresh_token_lifetime"] = "P30D"
    return scenario_variant(tmp_path, "default", change)


def bruno(tpp) -> dict:
    return headless_tokens(tpp, "bruno")


def api_refusal(tpp, access_token, host="localhost") -> str:
    """The 401 of a funds confirmation with this token: its ErrorModel message (and an invalid_token challenge)."""
    response = tpp.confirm(access_token, portal_body(amount="10.00", iban=BRUNO_IBAN), host=host)
    body = assert_error_model(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    return body["message"]


def refresh_refusal(tpp, refresh_token, host="localhost") -> str:
    return assert_oauth_error(tpp.refresh(refresh_token, host), 400, "invalid_grant")["error_description"]


def journal_error(client, path: str) -> str:
    return client.get("/__admin/requests", query_string={"path": path}).get_json()["requests"][-1]["error"]


def test_an_access_token_replaced_by_a_refresh_says_so(tpp, client, advance):
    tokens = bruno(tpp)
    advance(timedelta(minutes=20))
    renewed = tpp.refresh(tokens["refresh_token"]).get_json()
    advance(timedelta(minutes=5))
    message = api_refusal(tpp, tokens["access_token"])
    assert message == ("access token replaced by a refresh on 2026-01-15T10:20:00Z: "
                       "use the access token that refresh returned")
    assert journal_error(client, "/funds-confirmations") == message
    assert "never issued" not in message
    assert tpp.confirm(renewed["access_token"], portal_body(amount="10.00", iban=BRUNO_IBAN)).status_code == 200
    # The refresh token itself lives on: the same one refreshes again, and each replaced token keeps its reason.
    again = tpp.refresh(tokens["refresh_token"]).get_json()
    assert again["refresh_token"] == tokens["refresh_token"]
    assert api_refusal(tpp, renewed["access_token"]).startswith("access token replaced by a refresh on "
                                                                "2026-01-15T10:25:00Z")


def test_an_expired_access_token_replaced_later_by_a_refresh_says_replaced(tpp, advance):
    tokens = bruno(tpp)
    advance(timedelta(hours=2))
    assert api_refusal(tpp, tokens["access_token"]) == ("access token expired on 2026-01-15T11:00:00Z: use the "
                                                        "refresh token at /token")
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    assert api_refusal(tpp, tokens["access_token"]).startswith("access token replaced by a refresh on "
                                                               "2026-01-15T12:00:00Z")


def test_a_new_consent_replaces_the_pair_and_both_tokens_say_so(tpp, client, advance):
    first = bruno(tpp)
    advance(timedelta(minutes=10))
    second = bruno(tpp)
    expected = "replaced by a new consent on 2026-01-15T10:10:00Z: one live pair per PSU, TPP and bank, use the newest"
    assert api_refusal(tpp, first["access_token"]) == f"access token {expected}"
    assert journal_error(client, "/funds-confirmations") == f"access token {expected}"
    assert refresh_refusal(tpp, first["refresh_token"]) == f"refresh token {expected}"
    assert journal_error(client, "/token") == f"refresh token {expected}"
    # Another TPP's consent for the same PSU, or another PSU's for the same TPP, replaces nothing.
    headless_tokens(TppDriver(client, client_id=OTHER_CLIENT), "bruno")
    tpp.tokens()  # alice
    assert tpp.confirm(second["access_token"], portal_body(amount="10.00", iban=BRUNO_IBAN)).status_code == 200
    assert tpp.refresh(second["refresh_token"]).status_code == 200


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_tokens_revoked_by_the_tpp_say_so(tpp, client, advance, which):
    tokens = bruno(tpp)
    advance(timedelta(minutes=3))
    assert client.post("/revoke", data={"token": tokens[which], "client_id": tpp.client_id}).status_code == 200
    expected = f"revoked by the TPP on 2026-01-15T10:03:00Z: {CONSENT_AGAIN}"
    assert api_refusal(tpp, tokens["access_token"]) == f"access token {expected}"
    assert refresh_refusal(tpp, tokens["refresh_token"]) == f"refresh token {expected}"
    assert journal_error(client, "/token") == f"refresh token {expected}"


@pytest.mark.parametrize("body,reason", [
    ({"psu": "bruno", "by": "psu"}, "revoked by the PSU"),
    ({"psu": "bruno"}, "revoked by the bank"),
    ({"psu": "bruno", "by": "bank"}, "revoked by the bank"),
    ({"client_id": "PSDFR-ACPR-12345", "reason": "fraud suspected"}, "revoked by the bank (fraud suspected)"),
    ({"psu": "bruno", "by": "psu", "reason": "in the mobile app"}, "revoked by the PSU (in the mobile app)"),
    ({"psu": "bruno", "reason": "r" * 40}, f"revoked by the bank ({'r' * 40})"),  # the longest: an ErrorModel keeps it
])
def test_tokens_revoked_by_the_psu_or_the_bank_say_who(tpp, client, advance, body, reason):
    tokens = bruno(tpp)
    advance(timedelta(minutes=59))  # while the access token still lives: revoked, not expired
    assert client.post("/__admin/tokens/revoke", json=body).get_json() == {"revoked": 1}
    expected = f"{reason} on 2026-01-15T10:59:00Z: {CONSENT_AGAIN}"
    assert api_refusal(tpp, tokens["access_token"]) == f"access token {expected}"
    assert journal_error(client, "/funds-confirmations") == f"access token {expected}"
    assert refresh_refusal(tpp, tokens["refresh_token"]) == f"refresh token {expected}"
    assert client.get("/__admin/tokens").get_json()["tokens"][0]["revoked_reason"] == reason


@pytest.mark.parametrize("body,problem", [
    ({"psu": "bruno", "by": "tpp"}, 'by: must be "bank" (the default) or "psu"'),
    ({"psu": "bruno", "by": ["psu"]}, 'by: must be "bank" (the default) or "psu"'),
    ({"psu": "bruno", "reason": 42}, "reason: must be a string of at most 40 characters"),
    ({"psu": "bruno", "reason": "x" * 41}, "reason: must be a string of at most 40 characters"),
])
def test_a_bank_revocation_with_a_wrong_by_or_reason_is_a_400_and_revokes_nothing(tpp, client, body, problem):
    tokens = bruno(tpp)
    response = client.post("/__admin/tokens/revoke", json=body)
    assert_error_model(response, 400, names=problem)
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200


def test_expired_tokens_say_when(tpp, client, advance):
    tokens = bruno(tpp)
    advance(timedelta(hours=1))
    assert api_refusal(tpp, tokens["access_token"]) == ("access token expired on 2026-01-15T11:00:00Z: use the "
                                                        "refresh token at /token")
    advance(timedelta(days=30))
    expected = f"refresh token expired on 2026-02-14T10:00:00Z: {CONSENT_AGAIN}"
    assert refresh_refusal(tpp, tokens["refresh_token"]) == expected
    assert journal_error(client, "/token") == expected


def test_a_token_this_bank_never_issued_keeps_its_own_message(tpp, client):
    bruno(tpp)
    assert api_refusal(tpp, "never-issued") == "access token unknown: this bank never issued it"
    assert journal_error(client, "/funds-confirmations") == "access token unknown: this bank never issued it"
    assert refresh_refusal(tpp, "never-issued") == "refresh token unknown: this bank never issued it"


def test_a_token_of_another_bank_or_client_says_whose_it_is(tpp, client):
    tokens = bruno(tpp)
    assert api_refusal(tpp, tokens["access_token"], host="13807.localhost") == (
        "access token issued by another establishment than 13807")
    assert refresh_refusal(tpp, tokens["refresh_token"], host="13807.localhost") == (
        "refresh token issued by another establishment than 13807")
    other = TppDriver(client, client_id=OTHER_CLIENT)
    assert refresh_refusal(other, tokens["refresh_token"]) == "refresh token issued to another client"
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200  # none of these mistakes harmed the pair


def test_a_replaced_access_token_of_another_bank_is_that_banks(tpp, advance):
    tokens = bruno(tpp)
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    assert api_refusal(tpp, tokens["access_token"], host="13807.localhost") == (
        "access token issued by another establishment than 13807")


def test_a_replayed_code_revokes_the_pair_and_says_so(tpp, client):
    code = tpp.journey()["code"]
    tokens = tpp.exchange(code).get_json()
    assert_oauth_error(tpp.exchange(code), 400, "invalid_grant")
    expected = f"revoked: its authorization code was replayed on 2026-01-15T10:00:00Z: {CONSENT_AGAIN}"
    assert assert_error_model(tpp.confirm(tokens["access_token"]), 401)["message"] == f"access token {expected}"
    assert refresh_refusal(tpp, tokens["refresh_token"]) == f"refresh token {expected}"


def test_a_reset_forgets_replaced_access_tokens(tpp, client):
    tokens = bruno(tpp)
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    assert client.post("/__admin/reset").status_code == 200
    assert api_refusal(tpp, tokens["access_token"]) == "access token unknown: this bank never issued it"


def test_a_blocked_account_or_a_barred_tpp_refuses_but_kills_no_token(tpp, client):
    """The README's "what does not kill a token": refused while it lasts, the same tokens work once lifted."""
    tokens = bruno(tpp)
    body = portal_body(amount="10.00", iban=BRUNO_IBAN)
    for change, restore, url in [
        ({"status": "blocked"}, {"status": "active"}, f"/__admin/accounts/{BRUNO_IBAN}"),
        ({"status": "revoked"}, {"status": "active"}, f"/__admin/tpps/{tpp.client_id}"),
        ({"denied": "audit"}, {"denied": None}, f"/__admin/tpps/{tpp.client_id}"),
    ]:
        assert client.patch(url, json=change).status_code == 200
        assert_error_model(tpp.confirm(tokens["access_token"], body), 403)
        assert client.patch(url, json=restore).status_code == 200
        assert tpp.confirm(tokens["access_token"], body).get_json()["result"] is True
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200
    assert [t["state"] for t in client.get("/__admin/tokens").get_json()["tokens"]] == ["active"]
