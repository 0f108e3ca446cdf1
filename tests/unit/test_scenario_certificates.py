"""Scenario files that register certificates: trusted CAs, TPP certificates, revocations, strictness."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_aspsp.bank.scenario import ScenarioError, parse_scenario, read_scenario
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID
from mock_aspsp.tools.pki import issue_ca, issue_tpp_certificates

NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)


@lru_cache(maxsize=None)
def bundle():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = issue_ca("Loader CA", key=key, not_before=NOW - timedelta(days=1))
    return ca, issue_tpp_certificates(ca, CLIENT_ID, "TPP", ["PSP_IC"], qwac_key=key, qsealc_key=key,
                                      not_before=NOW - timedelta(days=1))


def document(**tpp_changes) -> dict:
    tpp = {"client_id": CLIENT_ID, "name": "TPP", "redirect_uris": ["https://tpp.example/cb"], **tpp_changes}
    return {"banks": [{"code": "30007", "name": "Banque"}], "tpps": [tpp]}


def write(directory, doc) -> str:
    path = directory / "world.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def problems(directory, doc) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        read_scenario(write(directory, doc))
    return [str(p) for p in caught.value.problems]


def test_paths_are_relative_to_the_scenario_folder_and_inline_pem_works(tmp_path, monkeypatch):
    ca, tpp = bundle()
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "certs" / "qwac.pem").write_bytes(tpp.qwac.cert_pem)
    doc = document(certificates=["certs/qwac.pem", tpp.qsealc.cert_pem.decode()])
    doc.update(trusted_cas=["certs/ca.pem"], revoked_certificates=["AB" * 32], settings={"strictness": "strict"})
    monkeypatch.chdir("/")
    scenario = read_scenario(write(tmp_path, doc))[0]
    assert scenario.settings.strictness == "strict"
    assert scenario.trusted_cas == (ca.certificate,)
    assert [c.sha256 for c in scenario.tpp(CLIENT_ID).certificates] == [tpp.qwac.sha256, tpp.qsealc.sha256]
    assert scenario.certificate(tpp.qsealc.sha256).organization_identifier == CLIENT_ID
    assert scenario.revoked_certificates == frozenset({"ab" * 32})


def test_defaults_are_lenient_with_no_certificates(tmp_path):
    scenario = read_scenario(write(tmp_path, document()))[0]
    assert scenario.settings.strictness == "lenient"
    assert scenario.trusted_cas == () and scenario.tpp(CLIENT_ID).certificates == ()
    assert scenario.tpp(CLIENT_ID).denied is None


def test_missing_and_malformed_certificate_files_name_file_path_and_reason(tmp_path):
    (tmp_path / "junk.pem").write_text("hello")
    doc = document(certificates=["nowhere/qwac.pem", "junk.pem"])
    doc["trusted_cas"] = ["no-ca.pem"]
    found = problems(tmp_path, doc)
    source = str(tmp_path / "world.yaml")
    assert any(re.fullmatch(rf"{re.escape(source)}:\d+: trusted_cas\[0\]: cannot read the certificate file: "
                            r"No such file or directory \(.*no-ca.pem\)", p) for p in found), found
    assert any("tpps[0].certificates[0]: cannot read the certificate file: No such file or directory" in p
               and "nowhere/qwac.pem" in p for p in found), found
    assert any(f"tpps[0].certificates[1]: {tmp_path / 'junk.pem'}: no '-----BEGIN CERTIFICATE-----' block" in p
               for p in found), found


def test_a_certificate_of_another_organization_is_refused(tmp_path):
    ca, _ = bundle()
    other = issue_tpp_certificates(ca, "PSDFR-ACPR-67890", "Other", ["PSP_IC"], qwac_key=ca.private_key)
    found = problems(tmp_path, document(certificates=[other.qwac.cert_pem.decode()]))
    assert found == [f"{tmp_path / 'world.yaml'}:10: tpps[0].certificates[0]: inline PEM: the certificate's "
                     f"organizationIdentifier is 'PSDFR-ACPR-67890', not this TPP's client_id {CLIENT_ID}"]


def test_a_certificate_listed_twice_is_refused(tmp_path):
    _, tpp = bundle()
    pem = tpp.qwac.cert_pem.decode()
    found = problems(tmp_path, document(certificates=[pem, pem]))
    assert len(found) == 1 and f"certificate {tpp.qwac.sha256} is already listed at tpps[0].certificates[0]" in found[0]


@pytest.mark.parametrize("client_id,reason", [
    ("PSDXX-ACPR-1", "country 'XX' is not an EEA state or GB"),
    ("PSDfr-ACPR-1", "country 'fr' after 'PSD' must be two capital letters"),
    ("PSDFR-ACPR123-1", "authority 'ACPR123' must be 2 to 8 capital letters A-Z"),
])
def test_organization_identifiers_get_the_parsers_precise_message(tmp_path, client_id, reason):
    found = problems(tmp_path, document(client_id=client_id))
    assert len(found) == 1 and "tpps[0].client_id: organization identifier" in found[0] and reason in found[0]


@pytest.mark.parametrize("change,path", [
    ({"settings": {"strictness": "paranoid"}}, "settings.strictness"),
    ({"revoked_certificates": ["not-a-fingerprint"]}, "revoked_certificates[0]"),
    ({"trusted_cas": [""]}, "trusted_cas[0]"),
])
def test_schema_refuses_bad_values(tmp_path, change, path):
    doc = {**document(), **change}
    assert any(f": {path}: " in p for p in problems(tmp_path, doc))


def test_denied_needs_a_reason(tmp_path):
    assert any("tpps[0].denied" in p for p in problems(tmp_path, document(denied="")))
    scenario = read_scenario(write(tmp_path, document(denied="non-compliant API")))[0]
    assert scenario.tpp(CLIENT_ID).denied == "non-compliant API"


def test_text_without_a_file_resolves_paths_from_the_working_directory(tmp_path, monkeypatch):
    ca, _ = bundle()
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    monkeypatch.chdir(tmp_path)
    doc = {**document(), "trusted_cas": ["ca.pem"]}
    assert parse_scenario(yaml.safe_dump(doc), "PUT /__admin/scenario").trusted_cas == (ca.certificate,)
