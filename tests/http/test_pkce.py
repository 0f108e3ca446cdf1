"""PKCE (RFC 7636; RFC 9700 §2.1.1: an authorization server must support it and prevent a downgrade).

The attack run: ``code_challenge`` was silently ignored and ``/token`` accepted any
``code_verifier``, or none. Now the challenge is bound to the code; the exchange needs
the matching verifier, and a verifier for a code issued without a challenge is refused.
"""
from __future__ import annotations

import base64
import hashlib

import pytest
import yaml

from mock_aspsp.bank.scenario import parse_scenario
from mock_aspsp.testing import PORTAL_IBAN
from support import assert_oauth_error, callback_params, portal_body, scenario_variant, shipped_scenario

VERIFIER = "dBjftJeZ4CVP-mJ92K1mEgdhfmU5ACl3pqNOEvWjA1Q"  # 43 unreserved characters
ANOTHER = "Q1AjWvEOqNp3lCA5Umfhdg2Emj-VPC4ZeJtfjBd" + "XYZw"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


CHALLENGE = s256(VERIFIER)


def code_with(tpp, login="bruno", **params):
    """A code from the headless PSU (or the interactive journey for alice) with these /authorize extras."""
    if login == "alice":
        location = tpp.start(**params).headers["Location"]
        tpp.post_step(location, "identify", login="alice", password="alice-password")
        tpp.post_step(location, "authenticate", otp="123456")
        return callback_params(tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve"))["code"]
    return callback_params(tpp.start(login_hint=login, **params))["code"]


@pytest.mark.parametrize("login", ["bruno", "alice"])
def test_s256_journey_with_the_right_verifier(tpp, login):
    code = code_with(tpp, login, code_challenge=CHALLENGE, code_challenge_method="S256")
    response = tpp.exchange(code, code_verifier=VERIFIER)
    assert response.status_code == 200, response.get_json()
    iban = {"alice": PORTAL_IBAN, "bruno": "FR7630007000020009876540145"}[login]
    assert tpp.confirm(response.get_json()["access_token"], body=portal_body("100", iban)).get_json()["result"] is True


@pytest.mark.parametrize("verifier,reason", [
    (None, "code_verifier"),
    (ANOTHER, "does not match"),
    (CHALLENGE, "does not match"),   # the challenge itself is not the verifier
    ("short", "43 to 128"),
    (VERIFIER + "\n", "43 to 128"),
    ("x" * 129, "43 to 128"),
    ("é" * 43, "43 to 128"),
])
def test_a_missing_or_wrong_verifier_is_invalid_grant_and_does_not_burn_the_code(tpp, verifier, reason):
    code = code_with(tpp, code_challenge=CHALLENGE, code_challenge_method="S256")
    extra = {} if verifier is None else {"code_verifier": verifier}
    body = assert_oauth_error(tpp.exchange(code, **extra), 400, "invalid_grant")
    assert reason in body["error_description"], body
    assert tpp.exchange(code, code_verifier=VERIFIER).status_code == 200


def test_the_challenge_is_bound_to_its_own_code(tpp):
    first = code_with(tpp, code_challenge=CHALLENGE, code_challenge_method="S256")
    second = code_with(tpp, code_challenge=s256(ANOTHER), code_challenge_method="S256")
    assert_oauth_error(tpp.exchange(second, code_verifier=VERIFIER), 400, "invalid_grant")
    assert tpp.exchange(first, code_verifier=VERIFIER).status_code == 200


def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused(tpp):
    """The downgrade: an attacker strips code_challenge from the request, then sends any verifier."""
    code = code_with(tpp)
    body = assert_oauth_error(tpp.exchange(code, code_verifier=VERIFIER), 400, "invalid_grant")
    assert "without a code_challenge" in body["error_description"]
    assert tpp.exchange(code).status_code == 200  # the code was not spent, and needs no verifier


@pytest.mark.parametrize("params,reason", [
    ({"code_challenge": VERIFIER}, "plain"),                                       # method defaults to plain
    ({"code_challenge": VERIFIER, "code_challenge_method": "plain"}, "plain"),
    ({"code_challenge": CHALLENGE, "code_challenge_method": "S512"}, "S512"),
    ({"code_challenge": CHALLENGE, "code_challenge_method": "s256"}, "s256"),
    ({"code_challenge_method": "S256"}, "code_challenge"),
    ({"code_challenge": CHALLENGE[:-1], "code_challenge_method": "S256"}, "43"),
    ({"code_challenge": CHALLENGE + "\n", "code_challenge_method": "S256"}, "43"),
    ({"code_challenge": CHALLENGE[:-1] + "=", "code_challenge_method": "S256"}, "43"),
])
def test_an_unsupported_or_malformed_challenge_goes_back_as_invalid_request(tpp, params, reason):
    answer = callback_params(tpp.start(login_hint="bruno", **params))
    assert answer["error"] == "invalid_request" and "code" not in answer, answer
    assert reason in answer["error_description"], answer
    assert answer["state"] == "state-123"


def test_metadata_advertises_the_methods(client):
    metadata = client.get("/.well-known/oauth-authorization-server").get_json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]


# -- scenarios that require PKCE or allow plain ------------------------------------------------
def _settings(**settings):
    def change(document):
        document["settings"].update(settings)
    return change


@pytest.fixture
def scenario_path(request, tmp_path):
    return scenario_variant(tmp_path, "default", _settings(**getattr(request, "param", {})))


@pytest.mark.parametrize("scenario_path", [{"require_pkce": True}], indirect=True)
def test_require_pkce_refuses_an_authorization_request_without_a_challenge(tpp):
    answer = callback_params(tpp.start(login_hint="bruno"))
    assert answer["error"] == "invalid_request" and "code_challenge is required" in answer["error_description"]
    code = code_with(tpp, code_challenge=CHALLENGE, code_challenge_method="S256")
    assert tpp.exchange(code, code_verifier=VERIFIER).status_code == 200


@pytest.mark.parametrize("scenario_path", [{"pkce_methods": ["S256", "plain"]}], indirect=True)
def test_a_scenario_can_allow_plain(tpp, client):
    assert client.get("/.well-known/oauth-authorization-server").get_json()[
        "code_challenge_methods_supported"] == ["S256", "plain"]
    for params in ({"code_challenge": VERIFIER}, {"code_challenge": VERIFIER, "code_challenge_method": "plain"}):
        code = code_with(tpp, **params)
        assert_oauth_error(tpp.exchange(code, code_verifier=ANOTHER), 400, "invalid_grant")
        assert tpp.exchange(code, code_verifier=VERIFIER).status_code == 200
    assert tpp.exchange(code_with(tpp, code_challenge=CHALLENGE, code_challenge_method="S256"),
                        code_verifier=VERIFIER).status_code == 200


@pytest.mark.parametrize("settings,problem", [
    ({"pkce_methods": ["plain"]}, "settings.pkce_methods"),
    ({"pkce_methods": []}, "settings.pkce_methods"),
    ({"pkce_methods": ["S256", "S512"]}, "settings.pkce_methods[1]"),
    ({"require_pkce": "yes"}, "settings.require_pkce"),
])
def test_pkce_settings_are_checked(settings, problem):
    document = yaml.safe_load(shipped_scenario("default").read_text(encoding="utf-8"))
    document["settings"].update(settings)
    with pytest.raises(Exception) as refused:
        parse_scenario(yaml.safe_dump(document), "pkce.yaml")
    assert any(p.path == problem for p in refused.value.problems), refused.value.problems


def test_production_like_requires_pkce_and_the_default_does_not():
    assert parse_scenario(shipped_scenario("production-like").read_text(encoding="utf-8"),
                          str(shipped_scenario("production-like"))).settings.require_pkce is True
    assert parse_scenario(shipped_scenario("default").read_text(encoding="utf-8")).settings.require_pkce is False


def test_the_redirect_uri_check_still_comes_first(tpp):
    tpp.redirect_uri = "https://unregistered.example/callback"
    response = tpp.start(code_challenge="not a challenge")
    assert response.status_code == 400 and "Location" not in response.headers
