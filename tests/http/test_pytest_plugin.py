"""The pytest plugin, used the way a TPP team would: in a separate test suite."""
import pytest

pytest_plugins = ["pytester"]

TPP_SUITE = '''
import json, urllib.request, urllib.error
from urllib.parse import urlencode, urlsplit, parse_qs

import pytest


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def tokens(url):
    query = urlencode({"response_type": "code", "client_id": "PSDFR-ACPR-12345", "scope": "cbpii",
                       "redirect_uri": "https://tpp.example.com/callback", "state": "s", "login_hint": "bruno"})
    try:
        urllib.request.build_opener(NoRedirect).open(f"{url}/authorize?{query}")
    except urllib.error.HTTPError as redirect:
        code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    form = urlencode({"grant_type": "authorization_code", "code": code, "client_id": "PSDFR-ACPR-12345",
                      "redirect_uri": "https://tpp.example.com/callback"}).encode()
    return json.load(urllib.request.urlopen(f"{url}/token", data=form))


def confirm(url, access):
    body = json.dumps({"paymentCoverageRequestId": "x", "instructedAmount": {"currency": "EUR", "amount": "10"},
                       "accountId": {"iban": "FR7630007000020009876540145"}}).encode()
    request = urllib.request.Request(f"{url}/v1.4.2/funds-confirmations", data=body, headers={
        "Authorization": "Bearer " + access, "X-Request-ID": "p", "Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request).status
    except urllib.error.HTTPError as error:
        return error.code


def test_token_expires_when_the_clock_moves(mock_aspsp):
    access = tokens(mock_aspsp.url)["access_token"]
    assert confirm(mock_aspsp.url, access) == 200
    mock_aspsp.admin.advance("PT2H")
    assert confirm(mock_aspsp.url, access) == 401


def test_each_test_starts_from_a_clean_bank(mock_aspsp):
    assert mock_aspsp.admin.tokens() == []
    assert mock_aspsp.admin.clock()["offset"] == "PT0S"
'''


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_a_tpp_suite_uses_the_fixture(pytester, mode):
    pytester.makepyfile(test_tpp=TPP_SUITE)
    result = pytester.runpytest_subprocess(f"--mock-aspsp-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_tpp_suite_can_serve_its_own_scenario(pytester):
    pytester.makeconftest('''
import pytest
from mock_aspsp.resources import scenarios_dir

@pytest.fixture(scope="session")
def mock_aspsp_scenario():
    return scenarios_dir() / "consent-refused.yaml"
''')
    pytester.makepyfile(test_name='''
def test_scenario_in_force(mock_aspsp):
    assert mock_aspsp.admin.health()["scenario"] != "default"
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
