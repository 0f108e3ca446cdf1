"""``mock-aspsp conformance`` against a served sandbox (two workers, one store), as a TPP's CI runs it."""
from __future__ import annotations

import subprocess
from xml.etree import ElementTree

from mock_aspsp.testing import AdminClient, TPP_CLIENT_ID
from served_process import console_script


def cli(url: str, *args: str, client_id: str = TPP_CLIENT_ID) -> subprocess.CompletedProcess:
    return subprocess.run([str(console_script()), "conformance", "--url", url, "--client-id", client_id, *args],
                          capture_output=True, text=True, timeout=60)


def test_the_cli_fetches_the_report_and_exits_1_on_a_failure(served, tmp_path):
    quiet = cli(served.url)
    assert quiet.returncode == 0, quiet.stderr  # nothing judged: nothing failed (every check not run)
    assert f"{TPP_CLIENT_ID}: 0 passed, 0 failed" in quiet.stdout

    served.link()  # the headless journey, without the QWAC the bank asks for at /token
    junit, html = tmp_path / "report.xml", tmp_path / "report.html"
    run = cli(served.url, "--junit", str(junit), "--html", str(html))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED   qwac-at-token" in run.stdout and "/token -> 200" in run.stdout
    assert "WARNING  pkce-s256" in run.stdout
    failures = [c.get("name") for c in ElementTree.parse(junit).iter("testcase") if c.find("failure") is not None]
    assert failures == ["qwac-at-token"]
    assert "Go-live readiness of" in html.read_text(encoding="utf-8")

    AdminClient(served.url).reset()
    assert cli(served.url).returncode == 0


def test_the_cli_says_why_when_the_sandbox_refuses(served):
    run = cli(served.url, client_id="PSDFR-ACPR-00000")
    assert run.returncode == 1 and "answered 404" in run.stderr
