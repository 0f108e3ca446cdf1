"""The attack run of issue 12, replayed as an attacker ran it (loopback only, bounded).

Each test is one attack that worked before; the behaviour it now meets has its own tests
(tests/http/test_pkce.py, test_psu_lockout.py, test_admin_exposure.py, ...). Hypothesis
varies what a hostile web page can choose: Host, Origin, Sec-Fetch-Site and Content-Type.
"""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import callback_params

FUZZ = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def test_an_intercepted_code_is_useless_without_the_verifier(tpp):
    """The TPP used PKCE; the attacker caught the code on its way back and redeems it first."""
    verifier = "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = callback_params(tpp.start(login_hint="bruno", code_challenge=challenge,
                                     code_challenge_method="S256"))["code"]
    for guess in (None, "x" * 43, challenge, verifier.upper()):
        stolen = tpp.exchange(code, **({} if guess is None else {"code_verifier": guess}))
        assert stolen.get_json()["error"] == "invalid_grant"
    assert tpp.exchange(code, code_verifier=verifier).status_code == 200  # the TPP still gets its tokens


def test_a_downgraded_request_gains_nothing(tpp):
    """The attacker strips code_challenge from the authorization request, then sends any verifier."""
    code = callback_params(tpp.start(login_hint="bruno"))["code"]
    assert tpp.exchange(code, code_verifier="a" * 43).get_json()["error"] == "invalid_grant"


def test_guessing_the_one_time_code_with_a_new_journey_every_three_tries(tpp):
    """Before: 3 guesses per journey, unlimited journeys (~100 guesses/s). Now 5 in all, then locked."""
    checked = 0
    for guess in range(30):
        location = tpp.start().headers["Location"]
        identified = tpp.post_step(location, "identify", login="alice", password="alice-password")
        if identified.status_code != 303:
            break
        answer = tpp.post_step(location, "authenticate", otp=f"{guess:06d}")
        if answer.status_code == 403:
            break
        checked += 1
    assert checked == 4 and "Accès temporairement bloqué" in answer.get_data(as_text=True)
    location = tpp.start().headers["Location"]
    assert tpp.post_step(location, "identify", login="alice", password="alice-password").status_code == 403


def test_guessing_passwords_is_limited_too(tpp):
    statuses = []
    for guess in range(10):
        location = tpp.start().headers["Location"]
        statuses.append(tpp.post_step(location, "identify", login="alice", password=f"guess-{guess}").status_code)
    assert statuses == [401] * 4 + [403] * 6


def test_two_redirect_uris_send_nobody_anywhere(client):
    query = urlencode([("response_type", "code"), ("client_id", CLIENT_ID), ("redirect_uri", REDIRECT_URI),
                       ("redirect_uri", "https://attacker.example/cb"), ("scope", "cbpii"), ("state", "s")])
    response = client.get(f"/authorize?{query}")
    assert response.status_code == 400 and "Location" not in response.headers


# -- a hostile web page against the admin API (no token) -------------------------------------
HOSTS = st.sampled_from(["localhost", "127.0.0.1:8080", "[::1]", "30007.localhost", "attacker.example",
                         "attacker.example:8080", "localhost.attacker.example", "192.168.0.10", ""])
ORIGINS = st.sampled_from([None, "null", "https://attacker.example", "http://localhost", "http://127.0.0.1:8080",
                           "http://localhost:1234"])
FETCH_SITES = st.sampled_from([None, "cross-site", "same-site", "same-origin", "none"])
TYPES = st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                         "application/json"])
LOOPBACK = re.compile(r"(localhost|127\.0\.0\.1(:8080)?|\[::1\]|30007\.localhost)")


@FUZZ
@given(host=HOSTS, origin=ORIGINS, fetch_site=FETCH_SITES, content_type=TYPES, body=st.booleans())
def test_a_page_cannot_reset_the_sandbox_nor_read_its_scenario(client, host, origin, fetch_site, content_type, body):
    headers = {"Host": host, **({"Origin": origin} if origin else {}),
               **({"Sec-Fetch-Site": fetch_site} if fetch_site else {}),
               **({"Content-Type": content_type} if content_type else {})}
    reset = client.post("/__admin/reset", headers=headers, data=b"{}" if body else b"")
    read = client.get("/__admin/scenario", headers={k: v for k, v in headers.items() if k != "Content-Type"})
    same_origin = origin is None or origin.split("://", 1)[-1] == host
    allowed = bool(LOOPBACK.fullmatch(host)) and same_origin and fetch_site != "cross-site"
    assert (read.status_code == 200) is allowed, (headers, read.get_json())
    assert (reset.status_code == 200) is (allowed and (not body or content_type == "application/json")), (
        headers, body, reset.get_json())
    if read.status_code != 200:
        assert "alice-password" not in read.get_data(as_text=True)
