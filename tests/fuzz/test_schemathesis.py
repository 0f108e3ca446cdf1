"""Schemathesis against a real ``mock-aspsp serve`` (2 workers), driven by the served OpenAPI documents.

For funds-confirmations in every version, ``/token``, the bank's certificate (the keyId of its signed
answers) and ``GET /__admin/versions``: positive and negative
cases (derandomized, bounded), each checked for no 5xx, a documented status,
content type, headers and body, negative data refused with a 4xx, and, apart
from the document, every error body in the ErrorModel / RFC 6749 shape.
"""
from __future__ import annotations

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mock_aspsp.formats.validation import schema_set
from mock_aspsp.stet.seal import bank_seal
from mock_aspsp.stet.versions import VERSIONS
from mock_aspsp.testing import HEADLESS_IBAN
from served_process import served_process

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 50
# A generated Signature can never verify, and a Digest sent alone is still checked, so with them
# every case would stop at 401. The default scenario is lenient (unsigned calls accepted); signatures
# have their own tests (tests/unit/test_tpp_signatures.py).
UNSIGNED = ("Signature", "Digest")
OAUTH_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                "unsupported_grant_type", "invalid_scope", "server_error", "temporarily_unavailable"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
NEGATIVE_CHECKS = CHECKS + [negative_data_rejection]


def fuzz_settings(seed_examples: int = MAX_EXAMPLES):
    return settings(
        max_examples=seed_examples,
        derandomize=True,  # same cases on every run: a CI failure reproduces locally
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the failing request
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_process(tmp_path_factory.mktemp("fuzz")) as served:
        yield served
    assert "Traceback" not in served.log_text(), served.log_text()[-4000:]


def load(server, prefix):
    return schemathesis.openapi.from_url(f"{server.url}/stet/psd2/{prefix}/openapi.json")


def assert_error_model(version, response):
    if response.status_code >= 400:
        problem = schema_set(version.schema_file).problem("ErrorModel", response.json())
        assert problem is None, (response.status_code, response.text, problem)
        assert response.json()["status"] == response.status_code


def assert_oauth_error(response):
    assert response.headers.get("cache-control") == ["no-store"], response.headers  # lower-cased names, lists
    if response.status_code >= 400:
        body = response.json()
        assert body.get("error") in OAUTH_ERRORS, body
        assert isinstance(body.get("error_description", ""), str), body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.prefix)
def test_funds_confirmations(server, version, mode):
    # The headless PSU's token for this version's scope (one live pair per PSU/TPP: fetched per test).
    bearer = {"Authorization": f"Bearer {server.link(version.scope).access_token}"}
    operation = load(server, version.prefix)[f"/stet/psd2/{version.prefix}/funds-confirmations"]["POST"]
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    statuses = []

    @fuzz_settings()
    @given(case=operation.as_strategy(mode, headers=bearer))
    def fuzz(case):
        for name in UNSIGNED:
            (case.headers or {}).pop(name, None)
        response = case.call_and_validate(base_url=server.url, headers=bearer, checks=checks, timeout=10)
        statuses.append(response.status_code)
        assert_error_model(version, response)

    fuzz()
    assert len(statuses) >= MAX_EXAMPLES // 2 and 401 not in statuses, "the fuzzer should get past the bearer check"
    if mode is GenerationMode.POSITIVE:
        assert set(statuses) - {400}, "some valid bodies should reach the bank's own rules"


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.prefix)
def test_funds_confirmations_answer_conforms_on_the_consented_account(server, version):
    """Generated bodies rarely name the consented IBAN: one explicit case reaches the 200 answer."""
    bearer = {"Authorization": f"Bearer {server.link(version.scope).access_token}"}
    operation = load(server, version.prefix)[f"/stet/psd2/{version.prefix}/funds-confirmations"]["POST"]
    body = {"paymentCoverageRequestId": "fuzz-1", "instructedAmount": {"currency": "EUR", "amount": "10.00"},
            "accountId": {"iban": HEADLESS_IBAN}}
    case = operation.Case(body=body, headers={"X-Request-ID": "fuzz-1", **bearer},
                          media_type="application/json")
    response = case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["result"] is True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_token(server, mode):
    operation = load(server, "v1.4.2")["/token"]["POST"]
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @fuzz_settings()
    @given(case=operation.as_strategy(mode))
    def fuzz(case):
        response = case.call_and_validate(base_url=server.url, checks=checks, timeout=10)
        assert_oauth_error(response)

    fuzz()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_bank_certificate(server, mode):
    """The keyId URL of the bank's signed answers: any name but the seal's is a 404 ErrorModel."""
    operation = load(server, "v1.4.2")["/stet/psd2/certificates/{name}"]["GET"]
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @fuzz_settings()
    @given(case=operation.as_strategy(mode))
    def fuzz(case):
        response = case.call_and_validate(base_url=server.url, checks=checks, timeout=10)
        assert_error_model(VERSIONS[1], response)

    fuzz()
    served = operation.Case(path_parameters={"name": bank_seal()[2]})
    assert served.call_and_validate(base_url=server.url, checks=CHECKS, timeout=10).status_code == 200


def test_admin_versions(server):
    operation = load(server, "v1.4.2")["/__admin/versions"]["GET"]

    @fuzz_settings(5)
    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    def fuzz(case):
        assert case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=10).status_code == 200

    fuzz()


def test_a_signed_answer_of_a_deprecated_version_conforms(server):
    """With a scenario that signs and deprecates v1.4.2 (swapped in, then the default put back), the 200
    carries Digest, Signature, Warning and Sunset, as the document declares them."""
    default = requests.get(f"{server.url}/__admin/scenario", timeout=10).json()["yaml"]
    document = yaml.safe_load(default)
    document.setdefault("settings", {}).update(
        sign_responses=True, versions={"v1.4.2": {"deprecated_on": "2020-01-01", "decommissioned_on": "2999-01-01"}})
    swapped = requests.put(f"{server.url}/__admin/scenario", data=yaml.safe_dump(document),
                           headers={"Content-Type": "application/yaml"}, timeout=10)
    assert swapped.status_code == 200, swapped.text
    try:
        bearer = {"Authorization": f"Bearer {server.link('cbpii').access_token}"}
        operation = load(server, "v1.4.2")["/stet/psd2/v1.4.2/funds-confirmations"]["POST"]
        body = {"paymentCoverageRequestId": "fuzz-signed", "instructedAmount": {"currency": "EUR", "amount": "1"},
                "accountId": {"iban": HEADLESS_IBAN}}
        case = operation.Case(body=body, headers={"X-Request-ID": "fuzz-signed", **bearer},
                              media_type="application/json")
        response = case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=10)
        assert response.status_code == 200, response.text
        assert {"digest", "signature", "warning", "sunset"} <= {name.lower() for name in response.headers}
    finally:
        restored = requests.put(f"{server.url}/__admin/scenario", data=default.encode(),
                                headers={"Content-Type": "application/yaml"}, timeout=10)
        assert restored.status_code == 200, restored.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("path, method", [("/stet/setting/v1/register", "POST"),
                                          ("/stet/setting/v1/register/{client_id}", "GET"),
                                          ("/stet/setting/v1/register/{client_id}", "PUT"),
                                          ("/stet/setting/v1/register/{client_id}", "DELETE"),
                                          ("/stet/psd2/oauth/token", "POST")])
def test_registration_api(server, path, method, mode):
    """No client certificate here (plain HTTP): every case is refused, each in its documented shape."""
    document = schemathesis.openapi.from_url(f"{server.url}/stet/setting/v1/openapi.json")
    operation = document[path][method]
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    statuses = []

    @fuzz_settings(MAX_EXAMPLES // 2)
    @given(case=operation.as_strategy(mode))
    def fuzz(case):
        response = case.call_and_validate(base_url=server.url, checks=checks, timeout=10)
        statuses.append(response.status_code)
        if path.endswith("/token"):
            assert_oauth_error(response)
        else:
            assert_error_model(VERSIONS[0], response)

    fuzz()
    assert statuses and all(400 <= s < 500 for s in statuses), sorted(set(statuses))
