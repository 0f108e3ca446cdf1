"""PSU lock-out across journeys: consecutive wrong passwords and one-time codes, per PSU.

The attack run: the one-time-code limit counted per journey, so starting a new journey every
three tries found a 6-digit code at ~100 guesses a second; wrong passwords were unlimited.
Now every failure counts for the login at its bank, whatever the journey; past
``settings.sca.psu_lockout.attempts`` (default 5) the login is locked for ``duration``
(default PT15M, mock clock). The pages say so in French, the same way whether the login
exists or not; the TPP gets ``access_denied``; the journal records it; the admin API unlocks.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from mock_aspsp.testing import PORTAL_IBAN
from support import callback_params, scenario_variant

LOCKED = "Accès temporairement bloqué"


def identify(tpp, login="alice", password="wrong"):
    location = tpp.start().headers["Location"]
    return location, tpp.post_step(location, "identify", login=login, password=password, action="continue")


def authenticate(tpp, otps, login="alice"):
    """A new journey: the right password, then each one-time code of ``otps``; the last answer."""
    location, answer = identify(tpp, login, f"{login}-password")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    for otp in otps:
        answer = tpp.post_step(location, "authenticate", otp=otp, action="continue")
    return location, answer


def alert(response) -> str:
    """The text of the page's alert (what the PSU is told), whitespace collapsed."""
    match = re.search(r'role="alert">(.*?)</div>', response.get_data(as_text=True), re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split()) if match else ""


def return_link(response) -> dict:
    """The query of the page's link back to the TPP."""
    href = unescape(re.search(r'<a [^>]*href="([^"]+)"', response.get_data(as_text=True)).group(1))
    assert href.startswith("https://tpp.example.com/callback?"), href
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def assert_locked_page(response) -> dict:
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "Location" not in response.headers
    assert LOCKED in response.get_data(as_text=True)
    assert "15 minutes" in alert(response)
    params = return_link(response)
    assert params["error"] == "access_denied" and "locked" in params["error_description"], params
    assert params["state"] == "state-123"
    return params


def test_five_wrong_passwords_across_journeys_lock_the_psu(tpp):
    for _ in range(4):
        _, answer = identify(tpp)
        assert answer.status_code == 401 and alert(answer) == "Identifiant ou mot de passe incorrect."
    location, fifth = identify(tpp)
    assert_locked_page(fifth)
    assert tpp.client.get(location).status_code == 410  # that journey is over
    _, right = identify(tpp, password="alice-password")  # the right password changes nothing now
    assert_locked_page(right)


def test_an_unknown_login_is_told_exactly_the_same(tpp):
    """Whether the login exists is not for a guesser to learn: same messages, same lock."""
    told = {}
    for login in ("alice", "nobody-at-all"):
        answers = [identify(tpp, login)[1] for _ in range(6)]
        told[login] = [(a.status_code, alert(a)) for a in answers]
    assert told["alice"] == told["nobody-at-all"]
    assert [status for status, _ in told["alice"]] == [401, 401, 401, 401, 403, 403]


def test_wrong_one_time_codes_count_across_journeys(tpp):
    """A new journey each time no longer resets the count: 2 + 2 + 1 wrong codes lock the PSU."""
    _, answer = authenticate(tpp, ["000000", "000001"])
    assert answer.status_code == 401 and "Code incorrect." in alert(answer)
    authenticate(tpp, ["000002", "000003"])
    _, fifth = authenticate(tpp, ["000004"])
    assert_locked_page(fifth)
    _, answer = identify(tpp, password="alice-password")
    assert_locked_page(answer)


def test_the_per_journey_limit_still_ends_a_journey_and_its_codes_count(tpp):
    _, third = authenticate(tpp, ["000000", "000001", "000002"])  # otp_attempts: 3
    assert callback_params(third)["error"] == "access_denied"
    _, answer = authenticate(tpp, ["000003", "000004"])
    assert_locked_page(answer)


def test_passwords_and_codes_add_up(tpp):
    for _ in range(3):
        identify(tpp)
    authenticate(tpp, ["000000"])
    _, fifth = authenticate(tpp, ["000001"])
    assert_locked_page(fifth)


def test_a_complete_authentication_starts_the_count_again(tpp):
    for _ in range(4):
        identify(tpp)
    location, answer = authenticate(tpp, ["123456"])
    assert answer.status_code == 303
    for _ in range(4):
        assert identify(tpp)[1].status_code == 401
    assert identify(tpp, password="alice-password")[1].status_code == 303


def test_a_right_password_alone_does_not_reset_the_count(tpp):
    """Else a guesser who knows the password would get 4 tries at the code per journey, forever."""
    for _ in range(4):
        identify(tpp)
    assert identify(tpp, password="alice-password")[1].status_code == 303
    _, answer = authenticate(tpp, ["000000"])
    assert_locked_page(answer)


def test_the_lock_ends_after_its_duration_on_the_mock_clock(tpp, advance):
    for _ in range(5):
        identify(tpp)
    advance(timedelta(minutes=14, seconds=59))
    assert_locked_page(identify(tpp, password="alice-password")[1])
    advance(timedelta(minutes=15))
    assert identify(tpp, password="alice-password")[1].status_code == 303


def test_failures_older_than_the_duration_are_forgotten(tpp, advance):
    for _ in range(4):
        identify(tpp)
    advance(timedelta(minutes=16))
    for _ in range(4):
        assert identify(tpp)[1].status_code == 401


def test_the_lock_is_per_bank(tpp):
    """erwan's bank is 13807: a lock of a login at 30007 does not lock the same login there."""
    for _ in range(5):
        identify(tpp, login="erwan")
    location = tpp.start(host="13807.localhost").headers["Location"]
    answer = tpp.post_step(location, "identify", host="13807.localhost", login="erwan", password="erwan-password")
    assert answer.status_code == 303


def test_the_tpp_gets_access_denied_and_the_journal_records_it(tpp, client):
    for _ in range(4):
        identify(tpp)
    _, fifth = identify(tpp)
    params = assert_locked_page(fifth)
    assert "too many failed authentication attempts" in params["error_description"]
    entries = client.get("/__admin/requests?path=/sca/").get_json()["requests"]
    locked = [e for e in entries if e["status"] == 403]
    assert len(locked) == 1 and "locked" in locked[0]["error"] and "alice" in locked[0]["error"], locked


# -- the admin API -----------------------------------------------------------------------------
def test_admin_unlocks_and_reset_clears(tpp, client):
    for _ in range(5):
        identify(tpp)
    state = client.patch("/__admin/psus/alice", json={"locked": False})
    assert state.status_code == 200, state.get_json()
    assert state.get_json() == {"bank": "30007", "login": "alice", "locked": False, "locked_until": None,
                                "failed_attempts": 0}
    assert identify(tpp, password="alice-password")[1].status_code == 303
    for _ in range(5):
        identify(tpp)
    assert client.post("/__admin/reset").status_code == 200
    assert identify(tpp, password="alice-password")[1].status_code == 303


def test_admin_locks_a_headless_psu_and_login_hint_answers_access_denied(tpp, client):
    state = client.patch("/__admin/psus/bruno", json={"locked": True}).get_json()
    assert state["locked"] is True and state["locked_until"] == "2026-01-15T10:15:00Z"
    params = callback_params(tpp.start(login_hint="bruno"))
    assert params["error"] == "access_denied" and "locked" in params["error_description"]
    client.patch("/__admin/psus/bruno", json={"locked": False})
    assert "code" in callback_params(tpp.start(login_hint="bruno"))


def test_admin_psu_at_another_bank(client):
    assert client.patch("/__admin/psus/erwan?bank=13807", json={"locked": True}).get_json()["bank"] == "13807"
    assert client.patch("/__admin/psus/erwan", json={"locked": True}).status_code == 404


@pytest.mark.parametrize("body,status", [({}, 400), ({"locked": "no"}, 400), ({"locked": None}, 400),
                                         ({"locked": False, "other": 1}, 400), ([], 400)])
def test_admin_psu_changes_are_checked(client, body, status):
    assert client.patch("/__admin/psus/alice", json=body).status_code == status
    assert client.patch("/__admin/psus/nobody", json={"locked": False}).status_code == 404


# -- settings ----------------------------------------------------------------------------------
@pytest.fixture
def scenario_path(request, tmp_path):
    def change(document):
        document["settings"]["sca"].update(getattr(request, "param", {}))
    return scenario_variant(tmp_path, "default", change)


@pytest.mark.parametrize("scenario_path", [{"psu_lockout": {"attempts": 2, "duration": "PT1M"}}], indirect=True)
def test_the_scenario_sets_attempts_and_duration(tpp, advance):
    assert identify(tpp)[1].status_code == 401
    answer = identify(tpp)[1]
    assert answer.status_code == 403 and "1 minute" in alert(answer)
    advance(timedelta(minutes=1))
    assert identify(tpp, password="alice-password")[1].status_code == 303


def test_a_journey_after_a_few_failures_still_succeeds(tpp):
    identify(tpp)
    assert "code" in tpp.journey(iban=PORTAL_IBAN)
