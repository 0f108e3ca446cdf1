"""Every scenario shipped in scenarios/ loads, is installed with the package, and passes `mock-aspsp scenario check`."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mock_aspsp.bank.coverage import ineligibility
from mock_aspsp.bank.iban import is_valid_iban
from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.resources import scenarios_dir

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(REPO_SCENARIOS.glob("*.yaml"))
EXPECTED = {"default", "consent-refused", "sca-timeout", "blocked-account", "non-euro-account",
            "corporate-segment", "revoked-tpp"}


def test_the_expected_scenarios_are_shipped_and_installed():
    names = {p.stem for p in SHIPPED}
    assert EXPECTED <= names
    assert names <= {p.stem for p in scenarios_dir().glob("*.yaml")}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_is_valid(path):
    scenario, text = read_scenario(path)
    assert text.lstrip().startswith("#"), "a shipped scenario starts with a comment saying what it shows"
    assert scenario.name == path.stem
    assert scenario.bank(scenario.default_bank) is not None
    for psu in scenario.psus:
        assert all(is_valid_iban(a.iban) for a in psu.accounts)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("mock-aspsp")
    if script.exists():
        return [str(script)]
    found = shutil.which("mock-aspsp")
    return [found] if found else [sys.executable, "-m", "mock_aspsp"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_check_command_accepts_it(path):
    done = subprocess.run([*_command(), "scenario", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def test_scenario_check_command_refuses_a_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("banks: []\ntpps: []\n")
    done = subprocess.run([*_command(), "scenario", "check", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"{bad}:1: banks:" in done.stderr


def _scenario(name):
    return read_scenario(REPO_SCENARIOS / f"{name}.yaml")[0]


@pytest.mark.parametrize(
    "name,login,reason",
    [
        ("blocked-account", "jules", "the account is blocked"),
        ("non-euro-account", "louis", "the account is held in USD; only euro accounts are eligible"),
        ("corporate-segment", "nadia", "the corporate segment is not covered by this service"),
    ],
)
def test_ineligible_scenarios_hold_an_ineligible_account_consented_at_once(name, login, reason):
    scenario = _scenario(name)
    psu = scenario.psu(scenario.default_bank, login)
    assert psu.sca == "approve"
    assert ineligibility(scenario.account(psu.bank, psu.consent_iban)) == reason


def test_both_ineligibility_modes_are_shown():
    modes = {name: _scenario(name).settings.ineligible_accounts
             for name in ("blocked-account", "non-euro-account", "corporate-segment")}
    assert set(modes.values()) == {"error", "false"}


def test_behaviour_scenarios_say_what_they_claim():
    assert _scenario("consent-refused").psu("30007", "gaston").sca == "refuse"
    timeout = _scenario("sca-timeout")
    assert timeout.psu("30007", "igor").sca == "timeout"
    assert timeout.settings.sca.timeout_error == "temporarily_unavailable"
    assert _scenario("revoked-tpp").tpp("PSDFR-ACPR-12345").status == "revoked"
