"""The whole journey over real HTTP against ``mock-aspsp serve`` with two workers."""
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mock_aspsp.testing import PORTAL_IBAN as IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import portal_body

pytestmark = pytest.mark.e2e

BODY = portal_body()


def post_form(browser, url, page, **fields):
    """Submit the bank's form as a browser would: hidden fields from the page, then ours."""
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return browser.post(url, data={**hidden, **fields}, allow_redirects=False)


def run_journey(url):
    browser = requests.Session()
    start = browser.get(f"{url}/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": "cbpii", "state": "e2e-state"})
    assert start.status_code == 303
    sca = url + start.headers["Location"]
    page = browser.get(sca)
    assert "Identifiez-vous" in page.text
    assert post_form(browser, sca, page, login="alice", password="alice-password", action="continue").status_code == 303
    page = browser.get(sca)
    assert "usage unique" in page.text
    assert post_form(browser, sca, page, otp="123456", action="continue").status_code == 303
    page = browser.get(sca)
    assert "Carte Exemple SAS" in page.text
    final = post_form(browser, sca, page, iban=IBAN, action="approve")
    assert final.status_code == 302
    assert final.headers["Location"].startswith(REDIRECT_URI)
    params = parse_qs(urlsplit(final.headers["Location"]).query)
    assert params["state"] == ["e2e-state"]
    return params["code"][0]


def test_whole_journey_over_http_with_two_workers(served):
    url = served.url
    code = run_journey(url)
    token = requests.post(f"{url}/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID})
    assert token.status_code == 200, token.text
    tokens = token.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "e2e-1"}

    # Many calls spread over both workers: every one sees the same token store.
    for n in range(12):
        answer = requests.post(f"{url}/stet/psd2/v1.4.2/funds-confirmations", json=BODY,
                               headers={**headers, "Connection": "close"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] is True
        assert answer.headers["X-Request-ID"] == "e2e-1"
    # A body sent in chunks (no Content-Length) is read as well as one announced by its length.
    text = json.dumps(BODY)
    chunked = requests.post(f"{url}/stet/psd2/v1.4.2/funds-confirmations", data=(p.encode() for p in (text[:20], text[20:])),
                            headers={**headers, "Content-Type": "application/json"})
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert chunked.status_code == 200 and chunked.json()["request"] == BODY, chunked.text
    assert requests.post(f"{url}/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": REDIRECT_URI,
                                               "client_id": CLIENT_ID}).json()["error"] == "invalid_grant"
    # The replay revoked the pair, on every worker.
    for _ in range(4):
        assert requests.post(f"{url}/v1.4.2/funds-confirmations", json=BODY, headers=headers).status_code == 401


def test_clock_move_reaches_every_worker_and_refresh_keeps_the_refresh_token(served):
    url = served.url
    code = run_journey(url)
    tokens = requests.post(f"{url}/token", data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID}).json()
    moved = requests.post(f"{url}/__admin/clock", json={"advance": "PT1H1S"})
    assert moved.status_code == 200
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "e2e-2"}
    for _ in range(4):
        expired = requests.post(f"{url}/v1.4.2/funds-confirmations", json=BODY, headers=headers)
        assert expired.status_code == 401
        assert expired.json()["status"] == 401
    refreshed = requests.post(f"{url}/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                    "refresh_token": tokens["refresh_token"]}).json()
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    headers["Authorization"] = f"Bearer {refreshed['access_token']}"
    assert requests.post(f"{url}/v1.4.2/funds-confirmations", json=BODY, headers=headers).status_code == 200


def test_sigterm_stops_the_server_cleanly(served):
    assert requests.get(f"{served.url}/__admin/health").json()["status"] == "ok"
    assert served.stop() == 0
