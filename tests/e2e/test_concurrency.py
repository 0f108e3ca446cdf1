"""Races a real integration produces, against a two-worker server sharing one store."""
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mock_aspsp.testing import HEADLESS_IBAN, HEADLESS_PSU, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI

pytestmark = pytest.mark.e2e
BODY = {"paymentCoverageRequestId": "race", "instructedAmount": {"currency": "EUR", "amount": "1"},
        "accountId": {"iban": HEADLESS_IBAN}}


def headless_code(url):
    response = requests.get(f"{url}/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
        "state": "race", "login_hint": HEADLESS_PSU})
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def test_twenty_parallel_exchanges_of_one_code_give_exactly_one_success(served):
    code = headless_code(served.url)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID}

    def exchange(_):
        return requests.post(f"{served.url}/token", data=form, headers={"Connection": "close"}, timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(exchange, range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 19
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}


def test_parallel_refreshes_leave_exactly_one_valid_access_token(served):
    tokens = served.link()
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": CLIENT_ID}

    def refresh(_):
        return requests.post(f"{served.url}/token", data=form, headers={"Connection": "close"}, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(refresh, range(10)))
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["refresh_token"] for a in answers} == {tokens.refresh_token}
    access_tokens = [a.json()["access_token"] for a in answers] + [tokens.access_token]
    statuses = [
        requests.post(f"{served.url}/v1.4.2/funds-confirmations", json=BODY, timeout=30,
                      headers={"Authorization": f"Bearer {t}", "X-Request-ID": "race"}).status_code
        for t in access_tokens
    ]
    assert statuses.count(200) == 1 and statuses.count(401) == len(access_tokens) - 1
