"""The journey driven by an OAuth2 client we did not write (Authlib) against ``mock-aspsp serve``.

Authlib builds the authorization URL, checks ``state`` on the way back,
exchanges the code (client_id in the body, no ``scope``), signs the API call
with the bearer token and refreshes it. The PSU's side is a plain ``requests``
session reading the bank's HTML forms, as a browser without JavaScript would.
"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import url_decode
from authlib.integrations.requests_client import OAuth2Session

from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import served_process
from support import portal_body

pytestmark = pytest.mark.e2e

BODY = portal_body()


class Forms(HTMLParser):
    """The forms of a page: action, method and the fields a browser would send by default."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(),
                               "fields": {}, "names": set()})
        elif tag == "input" and self.forms and attrs.get("name"):
            form = self.forms[-1]
            form["names"].add(attrs["name"])
            kind = attrs.get("type", "text")
            if kind == "hidden" or (kind in ("radio", "checkbox") and "checked" in attrs):
                form["fields"][attrs["name"]] = attrs.get("value", "")


def submit(browser: requests.Session, page: requests.Response, **fields) -> requests.Response:
    """Fill the page's only form as the PSU would and post it without following the redirect."""
    (form,) = Forms(page.text).forms
    assert form["method"] == "post"
    missing = {k for k in fields if k != "action"} - form["names"]
    assert not missing, f"the page has no field {missing}"
    return browser.post(urljoin(page.url, form["action"]), data={**form["fields"], **fields}, allow_redirects=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_process(tmp_path_factory.mktemp("oauth-client")) as served:
        yield served


@pytest.fixture
def metadata(server):
    response = requests.get(f"{server.url}/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200
    return response.json()


def psu_approves(authorization_url: str, iban: str = PORTAL_IBAN) -> str:
    """Alice at the bank: identify, one-time code, choose the account, approve; the redirect's Location."""
    browser = requests.Session()
    start = browser.get(authorization_url, allow_redirects=False, timeout=10)
    assert start.status_code == 303, start.text
    journey = urljoin(authorization_url, start.headers["Location"])
    assert urlsplit(journey).path.startswith("/sca/")
    steps = [dict(login="alice", password="alice-password", action="continue"),
             dict(otp="123456", action="continue")]
    for fields in steps:
        page = browser.get(journey, timeout=10)
        assert page.status_code == 200, page.text
        moved = submit(browser, page, **fields)
        assert moved.status_code == 303 and urljoin(journey, moved.headers["Location"]) == journey, moved.text
    consent = browser.get(journey, timeout=10)
    assert "Carte Exemple SAS" in consent.text
    final = submit(browser, consent, iban=iban, action="approve")
    assert final.status_code == 302, final.text
    return final.headers["Location"]  # not followed: the TPP's callback is not reachable here


def token_requests(session: requests.Session) -> list[dict]:
    """Record the form of every request the library sends to /token, as it went on the wire."""
    sent: list[dict] = []

    def record(response, *args, **kwargs):
        if urlsplit(response.request.url).path == "/token":
            sent.append(dict(url_decode(response.request.body)))

    session.hooks["response"].append(record)
    return sent


def test_authlib_runs_the_whole_journey(server, metadata):
    refresh_answers = []

    def keep_refresh_answer(response):
        refresh_answers.append(response.json())
        return response

    # No scope on the session: Authlib adds a session scope to token requests, and the bank
    # refuses `scope` in the code exchange. The scope goes in the authorization URL only.
    tpp = OAuth2Session(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method="none",  # client_id in the body; the QWAC authenticates the TPP
        token_endpoint=metadata["token_endpoint"],
    )
    sent = token_requests(tpp)
    tpp.register_compliance_hook("refresh_token_response", keep_refresh_answer)

    url, state = tpp.create_authorization_url(metadata["authorization_endpoint"], scope="cbpii")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"] and query["scope"] == ["cbpii"] and query["state"] == [state]

    callback = psu_approves(url)
    assert callback.startswith(REDIRECT_URI + "?")
    token = tpp.fetch_token(authorization_response=callback)  # checks state, sends the code
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert sent == [{"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                     "client_id": CLIENT_ID}]  # client_id in the body, no scope
    assert token["token_type"] == "Bearer" and token["scope"] == "cbpii"
    assert token["expires_in"] == 3600 and token["refresh_token"]

    funds_url = f"{server.url}/stet/psd2/v1.4.2/funds-confirmations"
    answer = tpp.post(funds_url, json=BODY, headers={"X-Request-ID": "authlib-1"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] is True

    first_access, first_refresh = token["access_token"], token["refresh_token"]
    refreshed = tpp.refresh_token(metadata["token_endpoint"])
    assert refresh_answers[0]["refresh_token"] == first_refresh  # the bank's own answer, not Authlib's fill-in
    assert refreshed["refresh_token"] == first_refresh
    assert refreshed["access_token"] != first_access
    assert sent[1] == {"grant_type": "refresh_token", "refresh_token": first_refresh, "client_id": CLIENT_ID}

    assert tpp.post(funds_url, json=BODY, headers={"X-Request-ID": "authlib-2"}, timeout=10).status_code == 200
    old = requests.post(funds_url, json=BODY, timeout=10,
                        headers={"X-Request-ID": "authlib-3", "Authorization": f"Bearer {first_access}"})
    assert old.status_code == 401  # the old access token died with the refresh


def test_refusal_comes_back_to_the_authlib_client_as_access_denied(server, metadata):
    tpp = OAuth2Session(client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, token_endpoint_auth_method="none")
    url, state = tpp.create_authorization_url(metadata["authorization_endpoint"], scope="piisp")
    browser = requests.Session()
    journey = urljoin(url, browser.get(url, allow_redirects=False, timeout=10).headers["Location"])
    submit(browser, browser.get(journey, timeout=10), login="alice", password="alice-password", action="continue")
    submit(browser, browser.get(journey, timeout=10), otp="123456", action="continue")
    refused = submit(browser, browser.get(journey, timeout=10), action="refuse")
    assert refused.status_code == 302
    params = parse_qs(urlsplit(refused.headers["Location"]).query)
    assert params["error"] == ["access_denied"] and params["state"] == [state]
    assert "code" not in params


def test_authlib_with_pkce_s256(server, metadata):
    """Authlib computes the S256 challenge and sends the verifier: the bank checks what it derived."""
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    tpp = OAuth2Session(client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, token_endpoint_auth_method="none",
                        token_endpoint=metadata["token_endpoint"], code_challenge_method="S256")
    sent = token_requests(tpp)
    verifier = generate_token(64)
    url, _ = tpp.create_authorization_url(metadata["authorization_endpoint"], scope="cbpii", code_verifier=verifier)
    assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
    token = tpp.fetch_token(authorization_response=psu_approves(url), code_verifier=verifier)
    assert sent[0]["code_verifier"] == verifier and token["access_token"]
    # The same journey, but the verifier lost on the TPP's side: the code alone gets nothing.
    url, _ = tpp.create_authorization_url(metadata["authorization_endpoint"], scope="cbpii",
                                          code_verifier=generate_token(64))
    code = parse_qs(urlsplit(psu_approves(url)).query)["code"][0]
    refused = requests.post(metadata["token_endpoint"], timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
