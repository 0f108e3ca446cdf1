"""``mock-aspsp certs issue | server | sign`` and the TLS options of ``serve``, in process."""
from __future__ import annotations

import contextlib
import io
import shlex
from datetime import datetime, timezone

import pytest
import yaml
from cryptography import x509

from mock_aspsp.bank.scenario import read_scenario
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID
from mock_aspsp.tools.cli import main
from mock_aspsp.tpp.certificates import load_certificate
from mock_aspsp.tpp.signatures import verify_request

PATH = "/stet/psd2/v1.4.2/funds-confirmations?x=1"


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """One `certs issue` run for the module: (out dir, printed text)."""
    out = tmp_path_factory.mktemp("certs")
    buffer = io.StringIO()  # capsys is function-scoped
    with contextlib.redirect_stdout(buffer):
        assert main(["certs", "issue", "--client-id", CLIENT_ID, "--name", "My TPP", "--roles", "PSP_IC,PSP_AI",
                     "--redirect-uri", "https://tpp.example.com/cb", "--out", str(out)]) == 0
    return out, buffer.getvalue()


def test_issue_prints_files_key_id_and_a_snippet_that_loads(issued, tmp_path):
    out, text = issued
    qsealc = load_certificate((out / "qsealc.pem").read_bytes())
    assert qsealc.roles == frozenset({"PSP_IC", "PSP_AI"})
    for name in ("ca.pem", "ca.key", "qwac.pem", "qwac.key", "qsealc.pem", "qsealc.key"):
        assert str(out / name) in text
    assert f"https://tpp.example/certs/qsealc_{qsealc.sha256}" in text
    snippet = text.split("Scenario snippet registering the TPP:\n\n", 1)[1]
    scenario_file = tmp_path / "world.yaml"
    scenario_file.write_text('settings: {strictness: strict}\nbanks: [{code: "30007", name: B}]\n' + snippet)
    scenario = read_scenario(scenario_file)[0]
    assert scenario.tpp(CLIENT_ID).redirect_uris == ("https://tpp.example.com/cb",)
    assert scenario.certificate(qsealc.sha256) == qsealc


def test_issue_refuses_to_overwrite_and_bad_input(issued, capsys):
    out, _ = issued
    assert main(["certs", "issue", "--client-id", CLIENT_ID, "--out", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["certs", "issue", "--client-id", "PSDFR-acpr-1", "--out", str(out / "x")]) == 1
    assert "authority 'acpr' must be 2 to 8 capital letters" in capsys.readouterr().err
    assert main(["certs", "issue", "--client-id", CLIENT_ID, "--roles", "PSP_XX", "--out", str(out / "x")]) == 1
    assert "unknown PSD2 role 'PSP_XX'" in capsys.readouterr().err


def test_issue_with_a_chosen_validity(tmp_path, capsys):
    assert main(["certs", "issue", "--client-id", CLIENT_ID, "--out", str(tmp_path), "--valid-from", "2025-01-01",
                 "--days", "30"]) == 0
    cert = load_certificate((tmp_path / "qwac.pem").read_bytes())
    assert cert.not_before == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert cert.not_after == datetime(2025, 1, 31, tzinfo=timezone.utc)


def test_server_certificate_for_localhost(issued, capsys):
    out, _ = issued
    assert main(["certs", "server", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"--tls-cert {out / 'server.pem'} --tls-key {out / 'server.key'} --client-ca {out / 'ca.pem'}" in printed
    cert = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((out / "ca.pem").read_bytes()))


@pytest.mark.parametrize("form", ["curl", "headers"])
def test_sign_prints_headers_that_verify(issued, tmp_path, capsys, form):
    out, text = issued
    key_id = next(line.strip() for line in text.splitlines() if line.strip().startswith("https://tpp.example/"))
    body = tmp_path / "body.json"
    body.write_bytes(b'{"a": 1}\n')
    assert main(["certs", "sign", "--key", str(out / "qsealc.key"), "--key-id", key_id, "--url",
                 f"https://bank.example{PATH}", "--header", "X-Request-ID: r-1", "--body", str(body),
                 "--format", form]) == 0
    printed = capsys.readouterr().out
    if form == "curl":
        words = shlex.split(printed.replace("\\\n", " "))
        assert words[0::2] == ["-H", "-H"]
        lines = words[1::2]
    else:
        lines = printed.splitlines()
    headers = {"X-Request-ID": "r-1", **dict(line.split(": ", 1) for line in lines)}
    assert list(headers) == ["X-Request-ID", "Digest", "Signature"]
    qsealc = load_certificate((out / "qsealc.pem").read_bytes())
    assert verify_request("POST", PATH, headers, body.read_bytes(), {qsealc.sha256: qsealc}.get) == qsealc


def test_sign_reports_bad_input(issued, capsys):
    out, _ = issued
    assert main(["certs", "sign", "--key", str(out / "nope.key"), "--key-id", "k_" + "0" * 64, "--url", "/"]) == 1
    assert "nope.key" in capsys.readouterr().err
    assert main(["certs", "sign", "--key", str(out / "qsealc.key"), "--key-id", "k", "--url", "/",
                 "--header", "no colon"]) == 1
    assert "expected 'Name: value'" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--tls-key", "k.pem"], "--tls-key and --client-ca need --tls-cert"),
    (["--tls-cert", "/nonexistent/server.pem"], "--tls-cert /nonexistent/server.pem: no such file"),
])
def test_serve_checks_its_tls_options(args, message, capsys):
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err


def test_snippet_is_yaml_with_the_documented_keys(issued):
    _, text = issued
    snippet = yaml.safe_load(text.split("Scenario snippet registering the TPP:\n\n", 1)[1])
    assert set(snippet) == {"trusted_cas", "tpps"}
    assert set(snippet["tpps"][0]) == {"client_id", "name", "roles", "redirect_uris", "certificates"}
