"""The pytest plugin and ``mock_aspsp.testing``, used the way a TPP team would: in a separate test suite."""
import re
import urllib.request
from pathlib import Path

import pytest
import yaml

from mock_aspsp import testing
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import JourneyError, running_sandbox

pytest_plugins = ["pytester"]
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def tpp_pytester(pytester, monkeypatch):
    """A TPP's suite with only the plugins it would have: this package's and pytest-xdist (this suite's other
    plugins cost seconds per run and per worker). The first test checks the entry point registers the plugin."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def run_tpp_suite(pytester, *args: str):
    return pytester.runpytest_subprocess("-p", "mock_aspsp.pytest_plugin", "-p", "xdist.plugin",
                                         "-p", "no:cacheprovider", *args)

# What a TPP's own suite needs to call the API: the plugin gives the tokens, the TPP sends the request.
TPP_CLIENT = '''
import json, urllib.error, urllib.request

from mock_aspsp.testing import HEADLESS_IBAN


def confirm(url, access, iban=HEADLESS_IBAN, amount="10"):
    body = json.dumps({"paymentCoverageRequestId": "x", "instructedAmount": {"currency": "EUR", "amount": amount},
                       "accountId": {"iban": iban}}).encode()
    request = urllib.request.Request(f"{url}/v1.4.2/funds-confirmations", data=body, headers={
        "Authorization": "Bearer " + access, "X-Request-ID": "p", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
'''

TPP_SUITE = '''
from mock_aspsp.testing import HEADLESS_PSU, Tokens
from tpp_client import confirm


def test_token_expires_when_the_clock_moves(mock_aspsp):
    tokens = mock_aspsp.link(psu=HEADLESS_PSU, scope="cbpii")
    assert isinstance(tokens, Tokens) and tokens.scope == "cbpii"
    status, answer = confirm(mock_aspsp.url, tokens.access_token)
    assert (status, answer["result"]) == (200, True)
    mock_aspsp.admin.advance("PT2H")
    assert confirm(mock_aspsp.url, tokens.access_token)[0] == 401


def test_each_test_starts_from_a_clean_bank(mock_aspsp):
    assert mock_aspsp.admin.tokens() == []
    assert mock_aspsp.admin.clock()["offset"] == "PT0S"
'''


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_a_tpp_suite_uses_the_fixture(pytester, mode):
    pytester.makepyfile(tpp_client=TPP_CLIENT, test_tpp=TPP_SUITE)
    result = pytester.runpytest_subprocess(f"--mock-aspsp-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_tpp_suite_serves_a_shipped_scenario_by_name(tpp_pytester):
    pytester = tpp_pytester
    pytester.makeconftest('''
import pytest

@pytest.fixture(scope="session")
def mock_aspsp_scenario():
    return "revoked-tpp"
''')
    pytester.makepyfile(test_name='''
import pytest
from mock_aspsp.testing import HEADLESS_PSU, JourneyError

def test_scenario_in_force(mock_aspsp):
    assert mock_aspsp.admin.health()["scenario"] == "revoked-tpp"
    with pytest.raises(JourneyError) as refused:
        mock_aspsp.link(psu=HEADLESS_PSU)
    assert refused.value.error == "unauthorized_client"
''')
    run_tpp_suite(pytester).assert_outcomes(passed=1)


# Each test notes which worker ran it and on which server; the tests also fail if another worker's
# reset or journey reached their sandbox (one live pair per PSU and TPP, the clock moved by this test only).
PARALLEL_SUITE = '''
import os
from pathlib import Path

import pytest
from mock_aspsp.testing import HEADLESS_PSU


@pytest.mark.parametrize("n", range(8))
def test_a_sandbox_of_its_own(mock_aspsp, n):
    mock_aspsp.link(psu=HEADLESS_PSU)
    mock_aspsp.admin.advance(f"PT{n + 1}M")
    worker = os.environ["PYTEST_XDIST_WORKER"]
    (Path(__file__).parent / f"seen-{n}.txt").write_text(f"{worker} {mock_aspsp.url}")
    assert [t["state"] for t in mock_aspsp.admin.tokens()] == ["active"]
    assert mock_aspsp.admin.clock()["offset"] == f"PT{n + 1}M"
'''


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_parallel_workers_each_get_their_own_sandbox(tpp_pytester, mode):
    pytester = tpp_pytester
    pytester.makepyfile(test_parallel=PARALLEL_SUITE)
    result = run_tpp_suite(pytester, "-n", "2", f"--mock-aspsp-mode={mode}")
    result.assert_outcomes(passed=8)
    seen = [(pytester.path / f"seen-{n}.txt").read_text().split() for n in range(8)]
    servers = {worker: {url for w, url in seen if w == worker} for worker, _ in seen}
    assert sorted(servers) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in servers.values())  # one server per worker, for all its tests
    assert servers["gw0"] != servers["gw1"]


def readme_fixture_example() -> tuple[str, str]:
    text = README.read_text()
    blocks = [re.search(rf"<!-- {name} -->\s*```python\n(.*?)```", text, re.S) for name in
              ("pytest-conftest", "pytest-test")]
    assert all(blocks), "README.md lost its pytest fixture example"
    return blocks[0].group(1), blocks[1].group(1)


def test_the_readme_fixture_example_runs_as_written(tpp_pytester):
    """The README's conftest.py and test, with a small TPP client of the kind it stands for."""
    pytester = tpp_pytester
    conftest, test = readme_fixture_example()
    pytester.makeconftest(conftest)
    pytester.makepyfile(tpp_client=TPP_CLIENT + '''

class MyTppClient:
    """Refreshes its access token when the bank says it has expired."""

    def __init__(self, base_url, tokens):
        self.url, self.tokens = base_url, tokens

    def check_funds(self, iban, amount):
        status, body = confirm(self.url, self.tokens.access_token, iban, amount)
        if status == 401:
            form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token,
                                           "client_id": "PSDFR-ACPR-12345"}).encode()
            with urllib.request.urlopen(f"{self.url}/token", data=form) as answer:
                self.tokens = self.tokens.__class__(**json.load(answer))
            status, body = confirm(self.url, self.tokens.access_token, iban, amount)
        assert status == 200, body
        return body["result"]
''', test_readme="import urllib.parse\nfrom tpp_client import MyTppClient\n" + test)
    run_tpp_suite(pytester).assert_outcomes(passed=2)


def test_the_constants_are_the_default_scenarios_parties():
    world = yaml.safe_load(default_scenario().read_text())
    tpp = world["tpps"][0]
    assert (tpp["client_id"], tpp["redirect_uris"][0]) == (testing.TPP_CLIENT_ID, testing.TPP_REDIRECT_URI)
    psus = {p["login"]: p for p in world["psus"]}
    assert psus[testing.HEADLESS_PSU]["sca"] == "approve"
    assert psus[testing.HEADLESS_PSU]["accounts"][0]["iban"] == testing.HEADLESS_IBAN  # consented by default
    assert psus[testing.REFUSING_PSU]["sca"] == "refuse"
    assert psus[testing.TIMING_OUT_PSU]["sca"] == "timeout"
    alice = psus[testing.INTERACTIVE_PSU]
    assert (alice["sca"], alice["password"], alice["otp"]) == ("interactive", testing.INTERACTIVE_PASSWORD,
                                                                testing.INTERACTIVE_OTP)
    assert alice["accounts"][0]["iban"] == testing.PORTAL_IBAN


@pytest.fixture(scope="module")
def sandbox():
    with running_sandbox() as running:
        yield running


def test_link_gives_the_tokens_of_the_scope_asked_for(sandbox):
    sandbox.admin.reset()
    tokens = sandbox.link(psu=testing.HEADLESS_PSU, scope="piisp")
    assert (tokens.token_type, tokens.scope, tokens.expires_in) == ("Bearer", "piisp", 3600)
    [pair] = sandbox.admin.tokens()
    assert (pair["psu"], pair["client_id"], pair["scope"]) == (testing.HEADLESS_PSU, testing.TPP_CLIENT_ID, "piisp")


@pytest.mark.parametrize("psu, error, says", [
    (testing.REFUSING_PSU, "access_denied", "the PSU refused consent"),
    (testing.TIMING_OUT_PSU, "access_denied", "time-out"),
    (testing.INTERACTIVE_PSU, None, "showed the bank's pages"),
    ("nobody", None, "showed the bank's pages"),
])
def test_link_says_why_the_bank_gave_no_tokens(sandbox, psu, error, says):
    with pytest.raises(JourneyError) as caught:
        sandbox.link(psu=psu)
    assert caught.value.error == error
    assert says in str(caught.value)


def test_link_with_an_unregistered_redirect_uri_or_scope(sandbox):
    with pytest.raises(JourneyError, match="unknown client_id or redirect_uri 'https://elsewhere.example/cb'"):
        sandbox.link(psu=testing.HEADLESS_PSU, redirect_uri="https://elsewhere.example/cb")
    with pytest.raises(JourneyError) as caught:
        sandbox.link(psu=testing.HEADLESS_PSU, scope="aisp")
    assert caught.value.error == "invalid_scope"


def test_link_at_another_bank_by_its_code(tmp_path):
    world = yaml.safe_load(default_scenario().read_text())
    erwan = next(p for p in world["psus"] if p["login"] == "erwan")
    erwan["sca"] = "approve"
    path = tmp_path / "two-banks.yaml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True))
    with running_sandbox(path) as running:
        with pytest.raises(JourneyError):
            running.link(psu="erwan")  # not a PSU of the default bank
        running.link(psu="erwan", bank="13807")
        assert [t["bank"] for t in running.admin.tokens()] == ["13807"]


def test_a_sandbox_by_name_and_an_unknown_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with running_sandbox("sca-timeout.yaml") as running:
        with urllib.request.urlopen(f"{running.url}/__admin/health") as answer:
            assert b'"sca-timeout"' in answer.read()
    with pytest.raises(FileNotFoundError, match="no shipped scenario of that name"):
        with running_sandbox("sca-timeuot"):
            pass


def test_a_tpp_suite_runs_a_conformance_plan_and_asserts_readiness():
    """``AdminClient.start_conformance_plan`` / ``assert_ready``: a plan from a TPP's suite, and the failure it
    reports naming the check and its evidence."""
    with running_sandbox() as sandbox:
        plan = sandbox.admin.start_conformance_plan(testing.TPP_CLIENT_ID, "funds-false")
        assert [m["id"] for m in plan["modules"]] == ["funds-false"]
        with pytest.raises(testing.AdminError) as refused:
            sandbox.admin.start_conformance_plan(testing.TPP_CLIENT_ID, "no-such-module")
        assert refused.value.status == 422
        sandbox.link(testing.HEADLESS_PSU)  # no QWAC at /token: qwac-at-token fails
        with pytest.raises(AssertionError, match=r"qwac-at-token: .*'/token', 200"):
            sandbox.admin.assert_ready(testing.TPP_CLIENT_ID)
        report = sandbox.admin.conformance(testing.TPP_CLIENT_ID)
        assert report["modules"][0]["status"] == "not-run"
