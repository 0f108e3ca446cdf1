"""A mixed load on a two-worker server: interactive journeys, refreshes, funds confirmations.

Runs only when asked (``make load``, i.e. ``pytest -m slow``): 60 seconds by
default, ``LOAD_SECONDS`` to change it. Every answer must be the expected one,
and at the end each PSU holds exactly one live pair: nothing leaked.
"""
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import served_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
THREADS = 8
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))


def world(tmp_path):
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["generate"] = {"psus": THREADS, "accounts_per_psu": 1, "seed": 1, "sca": "interactive"}
    path = tmp_path / "load.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    return path


def journey(url, login):
    browser = requests.Session()
    start = browser.get(f"{url}/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
        "state": login})
    sca = url + start.headers["Location"]

    def post(**fields):
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', browser.get(sca).text))
        return browser.post(sca, data={**hidden, **fields}, allow_redirects=False)

    assert post(login=login, password="password").status_code == 303
    assert post(otp="123456").status_code == 303
    page = browser.get(sca).text
    iban = re.search(r'name="iban" value="([^"]+)"', page).group(1)
    final = post(iban=iban, action="approve")
    code = parse_qs(urlsplit(final.headers["Location"]).query)["code"][0]
    tokens = requests.post(f"{url}/token", data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID})
    assert tokens.status_code == 200, tokens.text
    return tokens.json(), iban


def confirm(url, access, iban):
    return requests.post(f"{url}/v1.6.2/funds-confirmations", headers={
        "Authorization": f"Bearer {access}", "X-Request-ID": "load"}, json={
        "paymentCoverageRequestId": "load", "instructedAmount": {"currency": "EUR", "amount": "1.00"},
        "accountId": {"iban": iban}})


def user(url, login, deadline):
    """One PSU's life: link the account, check funds, refresh, sometimes link again."""
    counts = {"journeys": 0, "confirmations": 0, "refreshes": 0}
    retired = []
    tokens, iban = journey(url, login)
    counts["journeys"] += 1
    while time.monotonic() < deadline:
        for _ in range(5):
            answer = confirm(url, tokens["access_token"], iban)
            assert answer.status_code == 200, answer.text
            counts["confirmations"] += 1
        refreshed = requests.post(f"{url}/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                        "refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] == tokens["refresh_token"]
        retired.append(tokens["access_token"])
        tokens = refreshed.json()
        counts["refreshes"] += 1
        if counts["refreshes"] % 10 == 0:  # the PSU links again: the old pair must die
            retired.append(tokens["access_token"])
            tokens, iban = journey(url, login)
            counts["journeys"] += 1
    return counts, tokens, iban, retired


def test_mixed_load_without_errors_or_leaked_state(tmp_path):
    with served_process(tmp_path, "--scenario", str(world(tmp_path))) as server:
        deadline = time.monotonic() + SECONDS
        logins = [f"psu{n:06d}" for n in range(1, THREADS + 1)]
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(lambda login: user(server.url, login, deadline), logins))
        for counts, tokens, iban, retired in results:
            assert confirm(server.url, tokens["access_token"], iban).status_code == 200
            assert {confirm(server.url, t, iban).status_code for t in retired[-3:]} <= {401}
        live = [t for t in requests.get(f"{server.url}/__admin/tokens").json()["tokens"] if t["state"] == "active"]
        assert sorted(t["psu"] for t in live) == logins
        totals = {k: sum(r[0][k] for r in results) for k in results[0][0]}
        print(f"\nload over {SECONDS:.0f}s: {totals}")
        assert totals["confirmations"] > 0
