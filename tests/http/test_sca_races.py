"""Regressions found in review: framing of the bank's pages, the admin clock's range, admin input
types, and the SCA journey moved on by two requests that read the same state (two workers)."""
from __future__ import annotations

import copy

import pytest

from conftest import PORTAL_IBAN, callback_params

FRAME_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def _assert_not_frameable(response):
    for name, value in FRAME_HEADERS.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    assert response.headers.get("Cache-Control") == "no-store"


def test_the_bank_pages_cannot_be_framed_by_a_tpp(client, tpp):
    """Portal: the TPP may not encapsulate the bank's SCA screens (PSD2 art. 97.5, RTS art. 31)."""
    start = tpp.start()
    _assert_not_frameable(start)
    page = client.get(start.headers["Location"])
    assert page.status_code == 200
    _assert_not_frameable(page)
    error_page = client.get("/authorize?response_type=code&client_id=PSDFR-ACPR-00000&redirect_uri=x")
    assert error_page.status_code == 400
    _assert_not_frameable(error_page)


@pytest.mark.parametrize(
    "body",
    [
        {"advance": "P99999999D"},  # past year 9999
        {"advance": "P999999999999D"},  # not even a timedelta
        {"set": "9999-12-31T23:00:00Z"},  # any expiry computed from it overflows
        {"set": "0001-01-01T00:00:00Z"},
    ],
)
def test_a_clock_move_out_of_range_is_refused_and_the_sandbox_keeps_answering(client, body):
    response = client.post("/__admin/clock", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    message = response.get_json()["message"]
    assert "mock time must stay between" in message or "too long a duration" in message, message
    assert client.get("/__admin/health").status_code == 200
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


def test_a_clock_set_far_ahead_but_in_range_still_works(client, tpp):
    assert client.post("/__admin/clock", json={"set": "2999-01-01T00:00:00Z"}).status_code == 200
    tokens = tpp.tokens()
    assert tpp.confirm(tokens["access_token"]).get_json()["result"] is True


@pytest.mark.parametrize("body", [{"psu": ["alice"]}, {"client_id": {"a": 1}}, {"bank": 30007}])
def test_admin_revoke_with_a_criterion_that_is_not_a_string_is_a_400(client, body):
    response = client.post("/__admin/tokens/revoke", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["message"].endswith("must be a string")


def _at_step(tpp, store, step):
    location = tpp.start().headers["Location"]
    if step in ("authenticate", "consent"):
        tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
    if step == "consent":
        tpp.post_step(location, "authenticate", otp="123456", action="continue")
    journey_id = location.rsplit("/", 1)[1]
    assert store.get_journey(journey_id)["step"] == step
    return location, journey_id


def _all_reads_see(monkeypatch, store, journey_id):
    """Every request from now on reads the journey as it is now: as when several requests (two
    gunicorn workers) read it before any of them wrote."""
    stale = store.get_journey(journey_id)
    real = store.get_journey
    monkeypatch.setattr(store, "get_journey", lambda jid: copy.deepcopy(stale) if jid == journey_id else real(jid))
    return real


def test_parallel_guesses_of_the_one_time_code_do_not_escape_the_attempt_limit(tpp, store, monkeypatch):
    location, journey_id = _at_step(tpp, store, "authenticate")
    real = _all_reads_see(monkeypatch, store, journey_id)
    statuses = [tpp.post_step(location, "authenticate", otp=f"00000{i}", action="continue").status_code
                for i in range(5)]
    # One guess moved the journey on (one wrong attempt counted); the others, which read the same state,
    # are refused instead of each being checked against the code without being counted.
    assert statuses == [401, 409, 409, 409, 409]
    assert real(journey_id)["attempts"] == 1


def test_a_double_submitted_consent_sends_one_code(tpp, store, monkeypatch):
    location, journey_id = _at_step(tpp, store, "consent")
    _all_reads_see(monkeypatch, store, journey_id)
    cookie = tpp.client.get_cookie("mock_aspsp_sca", path=location)
    first = tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve")
    tpp.client.set_cookie(cookie.key, cookie.value, path=location)  # the second submit came with it
    second = tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve")
    assert "code" in callback_params(first)
    assert second.status_code == 409
    assert "Location" not in second.headers
