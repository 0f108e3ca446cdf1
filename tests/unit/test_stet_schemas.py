"""The STET JSON Schemas in schemas/ accept the bank portal's example and reject malformed bodies.

Only jsonschema (+ referencing) and the standard library are used.
"""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
VERSIONS = ["1.4.0.47", "1.4.2.17", "1.6.2.0"]
SCOPES = {"1.4.0.47": "piisp", "1.4.2.17": "cbpii", "1.6.2.0": "cbpii"}
REQUIRED_DEFS = {"PaymentCoverageRequestResource", "HalPaymentCoverageReport", "ErrorModel"}

# The bank portal's example (reference/bank-portal-funds-availability.txt).
PORTAL_REQUEST = {
    "paymentCoverageRequestId": "MyCoverage123456",
    "instructedAmount": {"currency": "EUR", "amount": "12345"},
    "accountId": {"iban": "YY13RDHN98392489481620896668799742"},
}
PORTAL_RESPONSE = {
    "request": copy.deepcopy(PORTAL_REQUEST),
    "result": True,
    "_links": {"self": {"href": "v1/funds-confirmations"}},
}
ERROR_EXAMPLE = {
    "timestamp": "2024-05-02T10:15:30.123+02:00",
    "status": 400,
    "error": "Bad Request",
    "message": "Missing request header 'Digest'",
    "path": "v1/funds-confirmations",
}


def load_schema(version):
    return json.loads((SCHEMA_DIR / f"stet-{version}.schema.json").read_text(encoding="utf-8"))


def validator_for(version, definition):
    """A validator for one $defs entry, resolved through a registry holding the version's schema."""
    schema = load_schema(version)
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{definition}"}, registry=registry)


def failing_fields(validator, instance):
    """Instance paths of every error; for 'required' errors, the missing property is appended."""
    fields = set()
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = [name for name in error.validator_value
                       if isinstance(error.instance, dict) and name not in error.instance]
            fields.update(tuple(path + [name]) for name in missing)
        else:
            fields.add(tuple(path))
    return fields


def mutated(body, path, value=None, delete=False):
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_is_valid_draft_2020_12(version):
    schema = load_schema(version)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://mock-aspsp.local/schemas/stet-{version}.schema.json"
    assert schema["title"]
    assert REQUIRED_DEFS <= set(schema["$defs"])
    for name, sub in schema["$defs"].items():
        Draft202012Validator.check_schema(sub)


@pytest.mark.parametrize("version", VERSIONS)
def test_x_stet_metadata(version):
    meta = load_schema(version)["x-stet"]
    assert meta["version"] == version
    assert meta["scope"] == SCOPES[version]
    names = {h["name"]: h for h in meta["requestHeaders"]}
    for header in ("Authorization", "Signature", "X-Request-ID"):
        assert names[header]["required"] is True
    assert names["Digest"]["required"] is False
    assert names["X-Request-ID"]["maxLength"] == 70
    assert 400 in meta["errorStatuses"]
    assert meta["sources"]


@pytest.mark.parametrize("version", VERSIONS)
def test_portal_example_request_is_valid(version):
    validator = validator_for(version, "PaymentCoverageRequestResource")
    assert failing_fields(validator, PORTAL_REQUEST) == set()


@pytest.mark.parametrize("version", VERSIONS)
def test_portal_example_response_is_valid(version):
    validator = validator_for(version, "HalPaymentCoverageReport")
    assert failing_fields(validator, PORTAL_RESPONSE) == set()


BAD_REQUESTS = [
    ("missing paymentCoverageRequestId", ("paymentCoverageRequestId",), None, True),
    ("36-character paymentCoverageRequestId", ("paymentCoverageRequestId",), "X" * 36, False),
    ("amount with a comma", ("instructedAmount", "amount"), "12,5", False),
    ("lower-case currency", ("instructedAmount", "currency"), "eur", False),
    ("IBAN with a space", ("accountId", "iban"), "FR76 bad", False),
    ("missing accountId", ("accountId",), None, True),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label,path,value,delete", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_request_is_rejected_at_the_failing_field(version, label, path, value, delete):
    validator = validator_for(version, "PaymentCoverageRequestResource")
    body = mutated(PORTAL_REQUEST, list(path), value, delete)
    assert failing_fields(validator, body) == {path}, label


@pytest.mark.parametrize("version", VERSIONS)
def test_bad_request_inside_response_is_rejected(version):
    validator = validator_for(version, "HalPaymentCoverageReport")
    response = mutated(PORTAL_RESPONSE, ["request", "instructedAmount", "currency"], "eur")
    assert failing_fields(validator, response) == {("request", "instructedAmount", "currency")}
    response = mutated(PORTAL_RESPONSE, ["_links", "self", "href"], delete=True)
    assert failing_fields(validator, response) == {("_links", "self", "href")}


@pytest.mark.parametrize("version", VERSIONS)
def test_error_model(version):
    validator = validator_for(version, "ErrorModel")
    assert failing_fields(validator, ERROR_EXAMPLE) == set()
    without_message = {k: v for k, v in ERROR_EXAMPLE.items() if k != "message"}
    assert failing_fields(validator, without_message) == {("message",)}


@pytest.mark.parametrize("version,accepted", [("1.4.0.47", False), ("1.4.2.17", True), ("1.6.2.0", True)])
def test_numeric_amount_depends_on_version(version, accepted):
    """1.4.0.47 declares amount as a string; 1.4.2/1.6.x declare a JSON number."""
    validator = validator_for(version, "PaymentCoverageRequestResource")
    body = mutated(PORTAL_REQUEST, ["instructedAmount", "amount"], 12345.0)
    expected = set() if accepted else {("instructedAmount", "amount")}
    assert failing_fields(validator, body) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_card_reference_through_other_and_payee(version):
    validator = validator_for(version, "PaymentCoverageRequestResource")
    body = copy.deepcopy(PORTAL_REQUEST)
    body["payee"] = "Merchant SA"
    body["accountId"] = {"other": {"identification": "4970XXXXXXXX1234", "schemeName": "CPAN"}}
    assert failing_fields(validator, body) == set()
    body["payee"] = "M" * 71
    assert failing_fields(validator, body) == {("payee",)}


def test_the_version_table_matches_its_schema_files():
    """What the version table says of a version's bodies is defined in that version's schema file."""
    from mock_aspsp.stet.versions import VERSIONS as TABLE

    assert [v.stet for v in TABLE] == VERSIONS
    for version in TABLE:
        schema = load_schema(version.stet)
        assert schema["x-stet"]["scope"] == version.scope
        assert version.bad_request_model in schema["$defs"], version
