"""The bank's token rules (mock_aspsp.oauth.tokens) straight against the store (SQLite, Redis): no HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.http.errors import ApiError, OAuthError
from mock_aspsp.oauth import tokens
from mock_aspsp.oauth.tokens import Consent
from mock_aspsp.resources import default_scenario
from mock_aspsp.stet.versions import version_for
from mock_aspsp.store import open_store
from mock_aspsp.store.records import REVOKED_BY_PSU
from mock_aspsp.store.sqlite import SqliteStore
from mock_aspsp.testing import PORTAL_IBAN as IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
BANK = "30007"
V142 = version_for("v1.4.2")


@pytest.fixture(scope="module")
def scenario():
    return read_scenario(default_scenario())[0]


@pytest.fixture
def tpp(scenario):
    return scenario.tpp(CLIENT_ID)


@pytest.fixture
def store(tmp_path, store_url):
    return open_store(store_url, str(tmp_path / "state.sqlite3"))


def stored_bytes(store, tmp_path) -> bytes:
    """Everything the store holds, as bytes: the SQLite file, or every key and value under the Redis prefix."""
    if isinstance(store, SqliteStore):
        return (tmp_path / "state.sqlite3").read_bytes()
    client, parts = store.client, []
    for key in client.scan_iter(match=store.prefix + "*"):
        kind = client.type(key)
        value = {"string": client.get, "hash": client.hgetall, "list": lambda k: client.lrange(k, 0, -1),
                 "set": client.smembers, "zset": lambda k: client.zrange(k, 0, -1)}[kind](key)
        parts.append(f"{key} {value!r}")
    return "\n".join(parts).encode()


def consent(psu="alice", authenticated_at=NOW, bank=BANK, scope="cbpii"):
    return Consent(bank, psu, CLIENT_ID, REDIRECT_URI, scope, IBAN, authenticated_at)


def code_form(code, **changes):
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
            **changes}


def oauth_error(call, *args, **kwargs) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        call(*args, **kwargs)
    return caught.value


def exchange(store, scenario, tpp, code, now=NOW, bank=BANK, **changes):
    return tokens.exchange_code(store, scenario, now, bank, tpp, code_form(code, **changes))


def api_status(store, token, now=NOW, bank=BANK, version=V142) -> int:
    """200 when the access token opens the API, else the ApiError status."""
    try:
        tokens.bearer_grant(store, now, bank, f"Bearer {token}", version)
    except ApiError as error:
        return error.status
    return 200


def new_pair(store, scenario, tpp, now=NOW, **consent_args):
    code = tokens.issue_code(store, scenario, now, consent(**consent_args))
    return exchange(store, scenario, tpp, code, now)


# -- authorization codes -----------------------------------------------------------
def test_code_exchange_gives_a_pair(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 3600 and pair["scope"] == "cbpii"
    assert pair["access_token"] != pair["refresh_token"]
    grant = store.grant_by_access_token(pair["access_token"])
    assert (grant.psu, grant.client_id, grant.iban, grant.bank) == ("alice", CLIENT_ID, IBAN, BANK)
    assert grant.access_expires_at == NOW + timedelta(hours=1)
    assert grant.refresh_expires_at == NOW + timedelta(days=180)
    assert api_status(store, pair["access_token"]) == 200


def test_tokens_and_codes_are_stored_hashed(store, scenario, tpp, tmp_path):
    code = tokens.issue_code(store, scenario, NOW, consent())
    pair = exchange(store, scenario, tpp, code)
    raw = stored_bytes(store, tmp_path)
    assert raw
    for secret in (code, pair["access_token"], pair["refresh_token"]):
        assert secret.encode() not in raw


def test_code_is_single_use_and_a_replay_revokes_the_pair(store, scenario, tpp):
    code = tokens.issue_code(store, scenario, NOW, consent())
    pair = exchange(store, scenario, tpp, code)
    error = oauth_error(exchange, store, scenario, tpp, code, NOW + timedelta(seconds=5))
    assert error.error == "invalid_grant" and "already used" in error.description
    grant = store.grant_by_refresh_token(pair["refresh_token"])
    assert grant.revoked_at is not None and grant.revoked_reason == "revoked: its authorization code was replayed"
    assert api_status(store, pair["access_token"]) == 401
    refused = oauth_error(tokens.refresh, store, scenario, NOW, BANK, tpp, {"refresh_token": pair["refresh_token"]})
    assert refused.error == "invalid_grant"


def test_replay_racing_the_first_exchange_still_revokes_the_pair(store, scenario, tpp):
    """The replay lands after the code is spent but before the first exchange stored its pair."""
    code = tokens.issue_code(store, scenario, NOW, consent())
    replays = []
    issue_grant = store.issue_grant

    def issue_grant_after_a_replay(grant, now, code=None):
        replays.append(oauth_error(exchange, store, scenario, tpp, code, now))
        return issue_grant(grant, now, code=code)

    store.issue_grant = issue_grant_after_a_replay
    pair = exchange(store, scenario, tpp, code)
    assert [e.error for e in replays] == ["invalid_grant"]
    assert store.grant_by_access_token(pair["access_token"]).revoked_reason == "revoked: its authorization code was replayed"
    assert api_status(store, pair["access_token"]) == 401


def test_unknown_code(store, scenario, tpp):
    assert oauth_error(exchange, store, scenario, tpp, "no-such-code").error == "invalid_grant"


def test_code_expires(store, scenario, tpp):
    code = tokens.issue_code(store, scenario, NOW, consent())
    error = oauth_error(exchange, store, scenario, tpp, code, NOW + timedelta(minutes=5))
    assert error.error == "invalid_grant" and "expired" in error.description


def test_code_is_good_until_just_before_expiry(store, scenario, tpp):
    code = tokens.issue_code(store, scenario, NOW, consent())
    assert exchange(store, scenario, tpp, code, NOW + timedelta(minutes=5) - timedelta(seconds=1))["access_token"]


@pytest.mark.parametrize(
    "mistake,description",
    [
        ({"redirect_uri": "http://localhost:8000/callback"}, "redirect_uri"),
        ({"bank": "13807"}, "another establishment"),
        ({"tpp": "other"}, "another client"),
    ],
)
def test_binding_mistakes_do_not_burn_the_code(store, scenario, tpp, mistake, description):
    from mock_aspsp.bank.scenario import Tpp

    code = tokens.issue_code(store, scenario, NOW, consent())
    caller = Tpp("PSDFR-ACPR-99999", "Other", frozenset({"PSP_IC"}), (REDIRECT_URI,), "active") if "tpp" in mistake else tpp
    changes = {k: v for k, v in mistake.items() if k == "redirect_uri"}
    error = oauth_error(exchange, store, scenario, caller, code, NOW, mistake.get("bank", BANK), **changes)
    assert error.error == "invalid_grant" and description in error.description
    assert exchange(store, scenario, tpp, code)["access_token"]  # the right request still works


def test_scope_in_the_code_exchange_is_refused_without_burning_the_code(store, scenario, tpp):
    code = tokens.issue_code(store, scenario, NOW, consent())
    error = oauth_error(exchange, store, scenario, tpp, code, NOW, BANK, scope="cbpii")
    assert error.error == "invalid_request" and "scope" in error.description
    assert exchange(store, scenario, tpp, code)["access_token"]


@pytest.mark.parametrize("missing", ["code", "redirect_uri"])
def test_missing_parameters(store, scenario, tpp, missing):
    form = code_form("x")
    del form[missing]
    error = oauth_error(tokens.exchange_code, store, scenario, NOW, BANK, tpp, form)
    assert error.error == "invalid_request" and missing in error.description


# -- refresh ------------------------------------------------------------------------
def refresh(store, scenario, tpp, refresh_token, now, bank=BANK, **extra):
    return tokens.refresh(store, scenario, now, bank, tpp, {"refresh_token": refresh_token, **extra})


def test_refresh_returns_the_same_refresh_token_and_kills_the_old_access_token(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    later = NOW + timedelta(minutes=30)
    renewed = refresh(store, scenario, tpp, pair["refresh_token"], later)
    assert renewed["refresh_token"] == pair["refresh_token"]
    assert renewed["access_token"] != pair["access_token"]
    assert api_status(store, pair["access_token"], later) == 401
    assert api_status(store, renewed["access_token"], later) == 200
    assert store.grant_by_access_token(renewed["access_token"]).access_expires_at == later + timedelta(hours=1)


def test_refresh_after_the_access_token_expired(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    later = NOW + timedelta(hours=5)
    assert api_status(store, pair["access_token"], later) == 401
    assert api_status(store, refresh(store, scenario, tpp, pair["refresh_token"], later)["access_token"], later) == 200


def test_refresh_is_refused_once_the_last_sca_is_too_old(store, scenario, tpp):
    """Counted from the PSU's strong authentication, not from the pair's issue."""
    authenticated = NOW - timedelta(days=10)
    pair = new_pair(store, scenario, tpp, authenticated_at=authenticated)
    just_before = authenticated + timedelta(days=180) - timedelta(seconds=1)
    assert refresh(store, scenario, tpp, pair["refresh_token"], just_before)["refresh_token"]
    error = oauth_error(refresh, store, scenario, tpp, pair["refresh_token"], authenticated + timedelta(days=180))
    assert error.error == "invalid_grant" and "strong authentication" in error.description


def test_refresh_with_an_unknown_or_foreign_token(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    assert oauth_error(refresh, store, scenario, tpp, "nope", NOW).error == "invalid_grant"
    assert oauth_error(refresh, store, scenario, tpp, pair["refresh_token"], NOW, "13807").error == "invalid_grant"
    # an access token is not a refresh token
    assert oauth_error(refresh, store, scenario, tpp, pair["access_token"], NOW).error == "invalid_grant"


def test_a_refresh_racing_a_revocation_names_the_revocation(store, scenario, tpp):
    """The pair is revoked between the refresh's read and its write (the PSU, on another worker)."""
    pair = new_pair(store, scenario, tpp)
    read = store.grant_by_refresh_token

    def read_then_revoked(token):
        grant = read(token)
        store.revoke_grants(NOW + timedelta(seconds=1), REVOKED_BY_PSU, grant_id=grant.id)
        return grant

    store.grant_by_refresh_token = read_then_revoked
    error = oauth_error(refresh, store, scenario, tpp, pair["refresh_token"], NOW + timedelta(seconds=1))
    assert (error.error, error.description) == (
        "invalid_grant", "refresh token revoked by the PSU on 2026-01-15T10:00:01Z: redirect the PSU to /authorize again")
    assert api_status(store, pair["access_token"], NOW + timedelta(seconds=1)) == 401


def test_refresh_with_another_scope_is_refused(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    assert oauth_error(refresh, store, scenario, tpp, pair["refresh_token"], NOW, scope="piisp").error == "invalid_scope"
    assert refresh(store, scenario, tpp, pair["refresh_token"], NOW, scope="cbpii")["scope"] == "cbpii"


# -- one pair per PSU / TPP -------------------------------------------------------
def test_a_new_pair_revokes_the_old_one_of_the_same_psu_and_tpp(store, scenario, tpp):
    first = new_pair(store, scenario, tpp)
    other_psu = new_pair(store, scenario, tpp, psu="bruno")
    second = new_pair(store, scenario, tpp, NOW + timedelta(minutes=1))
    assert store.grant_by_refresh_token(first["refresh_token"]).revoked_reason == "replaced by a new consent"
    assert api_status(store, first["access_token"]) == 401
    assert oauth_error(refresh, store, scenario, tpp, first["refresh_token"], NOW).error == "invalid_grant"
    assert api_status(store, second["access_token"]) == 200
    assert api_status(store, other_psu["access_token"]) == 200
    live = [g for g in store.grants() if g.revoked_at is None]
    assert sorted(g.psu for g in live) == ["alice", "bruno"]


# -- revocation ---------------------------------------------------------------------
@pytest.mark.parametrize("which,hint", [("access_token", None), ("refresh_token", None),
                                        ("access_token", "refresh_token"), ("refresh_token", "access_token")])
def test_revoking_either_token_revokes_both(store, scenario, tpp, which, hint):
    pair = new_pair(store, scenario, tpp)
    form = {"token": pair[which], **({"token_type_hint": hint} if hint else {})}
    tokens.revoke(store, NOW, BANK, tpp, form)
    assert api_status(store, pair["access_token"]) == 401
    assert oauth_error(refresh, store, scenario, tpp, pair["refresh_token"], NOW).error == "invalid_grant"


def test_revoking_an_unknown_token_is_silent(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    assert tokens.revoke(store, NOW, BANK, tpp, {"token": "never-issued"}) is None
    tokens.revoke(store, NOW, "13807", tpp, {"token": pair["access_token"]})  # another bank: not known there
    assert api_status(store, pair["access_token"]) == 200


def test_revoke_refuses_an_unknown_hint_and_a_missing_token(store, tpp):
    assert oauth_error(tokens.revoke, store, NOW, BANK, tpp, {"token": "x", "token_type_hint": "id_token"}).error == (
        "unsupported_token_type"
    )
    assert oauth_error(tokens.revoke, store, NOW, BANK, tpp, {}).error == "invalid_request"


# -- the bearer check -------------------------------------------------------------
def test_bearer_checks(store, scenario, tpp):
    pair = new_pair(store, scenario, tpp)
    assert api_status(store, pair["access_token"], NOW + timedelta(hours=1) - timedelta(seconds=1)) == 200
    assert api_status(store, pair["access_token"], NOW + timedelta(hours=1)) == 401
    assert api_status(store, pair["access_token"], bank="13807") == 401
    assert api_status(store, pair["access_token"], version=version_for("v1")) == 403  # cbpii token on piisp API
    for header in (None, "", "Basic abc", "Bearer ", "bearer"):
        with pytest.raises(ApiError) as caught:
            tokens.bearer_grant(store, NOW, BANK, header, V142)
        assert caught.value.status == 401 and caught.value.headers["WWW-Authenticate"].startswith("Bearer")
