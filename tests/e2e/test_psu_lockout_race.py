"""The PSU lock-out holds under parallel guesses spread over two workers, on SQLite and on Redis.

Twenty journeys are opened first; then their twenty wrong passwords for one login are sent
at once, each on its own connection (so both workers answer some). Each attempt is counted
before its password is checked, so exactly ``attempts`` (5) of them are checked and told the
password is wrong; the fifteen others find the login locked.
"""
from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import served_process

pytestmark = pytest.mark.e2e
GUESSES = 20


@pytest.fixture(params=["sqlite", "redis"])
def server(request, tmp_path):
    if request.param == "sqlite":
        with served_process(tmp_path) as served:
            yield served
        return
    redis_server = request.getfixturevalue("redis_server")
    prefix = f"lockout-{uuid.uuid4().hex[:12]}:"
    with served_process(tmp_path, "--store", redis_server.url(prefix=prefix)) as served:
        yield served
    redis_server.delete_prefix(prefix)


def open_journey(url: str) -> tuple[requests.Session, str, str]:
    browser = requests.Session()
    start = browser.get(f"{url}/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
        "state": "race"})
    location = urljoin(url, start.headers["Location"])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(location, timeout=10).text).group(1)
    return browser, location, csrf


def test_parallel_wrong_passwords_are_checked_no_more_than_the_limit_allows(server):
    journeys = [open_journey(server.url) for _ in range(GUESSES)]

    def guess(journey):
        browser, location, csrf = journey
        return browser.post(location, timeout=30, allow_redirects=False, headers={"Connection": "close"},
                            data={"csrf_token": csrf, "step": "identify", "login": "alice",
                                  "password": "wrong", "action": "continue"})

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        answers = list(pool.map(guess, journeys))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 4 + [403] * (GUESSES - 4), statuses  # the 5th wrong one locks, the rest find it locked
    assert all("Accès temporairement bloqué" in a.text for a in answers if a.status_code == 403)
    browser, location, csrf = open_journey(server.url)
    right = browser.post(location, timeout=10, allow_redirects=False, data={
        "csrf_token": csrf, "step": "identify", "login": "alice", "password": "alice-password", "action": "continue"})
    assert right.status_code == 403  # locked for everyone, on every worker
