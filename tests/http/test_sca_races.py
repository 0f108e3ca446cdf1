"""The SCA journey moved on by two requests that read the same state (two workers): one of them wins,
the other is refused, and no guess escapes the count."""
from __future__ import annotations

import copy

from mock_aspsp.testing import PORTAL_IBAN
from support import callback_params


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
