"""Real mutual TLS against ``mock-aspsp serve --tls-cert --tls-key --client-ca`` (strict scenario).

The certificates come from the product's own commands (``certs issue``, ``certs
server``), the scenario and the client script from README.md ("Certificates and
signatures"), and API calls are signed with ``certs sign`` output.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import console_script, served_process

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
PATH = "/stet/psd2/v1.4.2/funds-confirmations"
BODY = json.dumps({"paymentCoverageRequestId": "mtls-1", "instructedAmount": {"currency": "EUR", "amount": "100"},
                   "accountId": {"iban": "FR7630007000020009876540145"}}).encode()


def readme_block(marker: str, language: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```{language}\n(.*?)```", README.read_text(), re.S)
    assert match, f"README.md lost its {marker} block"
    return match.group(1)


def cli(*args: str, cwd: Path) -> str:
    done = subprocess.run([str(console_script()), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Bank:
    def __init__(self, url: str, workdir: Path, key_id: str):
        self.url, self.workdir, self.key_id = url, workdir, key_id
        self.certs = workdir / "certs"
        self.ca = str(self.certs / "ca.pem")
        self.qwac = (str(self.certs / "qwac.pem"), str(self.certs / "qwac.key"))

    def code(self) -> str:
        """The headless PSU consents at once; no client certificate on the browser's side."""
        answer = requests.get(f"{self.url}/authorize", verify=self.ca, allow_redirects=False, timeout=10, params={
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
            "state": "s", "login_hint": "bruno"})
        assert answer.status_code in (302, 303), answer.text
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    def token(self, cert=None) -> requests.Response:
        return requests.post(f"{self.url}/token", verify=self.ca, cert=cert, timeout=10, data={
            "grant_type": "authorization_code", "code": self.code(), "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID})

    def signature(self, request_id: str) -> dict:
        (self.workdir / "body.json").write_bytes(BODY)
        printed = cli("certs", "sign", "--key", str(self.certs / "qsealc.key"), "--key-id", self.key_id,
                      "--url", PATH, "--header", f"X-Request-ID: {request_id}", "--body", "body.json",
                      "--format", "headers", cwd=self.workdir)
        return dict(line.split(": ", 1) for line in printed.splitlines())


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mtls")
    issued = cli("certs", "issue", "--client-id", CLIENT_ID, "--name", "My TPP", "--roles", "PSP_IC",
                 "--redirect-uri", REDIRECT_URI, "--out", "certs", cwd=workdir)
    key_id = re.search(r"^\s+(https://tpp\.example/certs/qsealc_[0-9a-f]{64})$", issued, re.M).group(1)
    cli("certs", "server", "--out", "certs", cwd=workdir)
    (workdir / "my-bank.yaml").write_text(readme_block("certificates-scenario", "yaml"))
    certs = workdir / "certs"
    with served_process(workdir, "--scenario", str(workdir / "my-bank.yaml"), "--tls-cert", str(certs / "server.pem"),
                        "--tls-key", str(certs / "server.key"), "--client-ca", str(certs / "ca.pem"),
                        ca_file=certs / "ca.pem") as served:
        assert served.url.startswith("https://")
        yield Bank(served.url, workdir, key_id)


def test_token_over_mutual_tls_then_a_signed_call(bank):
    response = bank.token(cert=bank.qwac)
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    headers = {"Authorization": f"Bearer {access}", "X-Request-ID": "mtls-1", "Content-Type": "application/json"}
    signed = requests.post(f"{bank.url}{PATH}", data=BODY, verify=bank.ca, cert=bank.qwac, timeout=10,
                           headers={**headers, **bank.signature("mtls-1")})
    assert signed.status_code == 200, signed.text
    assert signed.json()["result"] is True
    unsigned = requests.post(f"{bank.url}{PATH}", data=BODY, verify=bank.ca, cert=bank.qwac, timeout=10,
                             headers=headers)
    assert unsigned.status_code == 401
    assert unsigned.json()["message"].startswith("missing Signature header")
    tampered = requests.post(f"{bank.url}{PATH}", data=BODY.replace(b"100", b"999"), verify=bank.ca, cert=bank.qwac,
                             timeout=10, headers={**headers, **bank.signature("mtls-1")})
    assert tampered.status_code == 401 and tampered.json()["message"].startswith("Digest mismatch")


def test_token_without_a_client_certificate_is_refused(bank):
    response = bank.token()
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "a client certificate (QWAC) is required" in response.json()["error_description"]


def test_the_qsealc_is_not_a_client_certificate(bank):
    response = bank.token(cert=(str(bank.certs / "qsealc.pem"), str(bank.certs / "qsealc.key")))
    assert response.status_code == 401
    assert "client certificate is not a QWAC" in response.json()["error_description"]


def test_a_client_certificate_of_an_untrusted_ca_fails_the_handshake(bank, tmp_path):
    cli("certs", "issue", "--client-id", CLIENT_ID, "--out", "rogue", cwd=tmp_path)
    rogue = (str(tmp_path / "rogue" / "qwac.pem"), str(tmp_path / "rogue" / "qwac.key"))
    with pytest.raises(requests.exceptions.SSLError):
        bank.token(cert=rogue)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_certificates_script_runs_as_written(bank):
    script = bank.workdir / "walkthrough.sh"
    script.write_text(readme_block("certificates-script", "bash"))
    env = {"BASE": bank.url, "CERTS": "certs", "KEY_ID": bank.key_id,
           "PATH": f"{console_script().parent}{os.pathsep}/usr/bin:/bin"}
    result = subprocess.run(["bash", str(script)], cwd=bank.workdir, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout)["result"] is True
