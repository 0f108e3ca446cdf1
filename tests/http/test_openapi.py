"""The OpenAPI 3.1 document per version: valid, and built from the validator's own schema files."""
import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from mock_aspsp.formats.validation import schema_set
from mock_aspsp.stet.openapi import build_document, document_json
from mock_aspsp.stet.versions import VERSIONS, version_for
from support import ERROR_MEDIA_OF, portal_body

PREFIXES = [v.prefix for v in VERSIONS]
FUNDS = "/stet/psd2/{}/funds-confirmations"


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def component_validator(document, name):
    """A JSON Schema 2020-12 validator for one of the document's components."""
    return Draft202012Validator({"components": document["components"], "$ref": f"#/components/schemas/{name}"})


@pytest.fixture(params=PREFIXES)
def served_document(request, client):
    response = client.get(f"/stet/psd2/{request.param}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return version_for(request.param), response.get_json()


def test_every_version_serves_a_valid_openapi_31_document(served_document):
    version, document = served_document
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any error
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert document["info"]["version"] == version.stet


def test_the_validator_would_reject_a_broken_document(served_document):
    _, document = served_document
    del document["paths"][FUNDS.format(served_document[0].prefix)]["post"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_alias_without_the_stet_prefix_serves_the_same_document(client, prefix):
    with_prefix = client.get(f"/stet/psd2/{prefix}/openapi.json").get_json()
    assert client.get(f"/{prefix}/openapi.json").get_json() == with_prefix


def test_unknown_version_is_a_404_error_model(client):
    response = client.get("/stet/psd2/v9/openapi.json")
    assert response.status_code == 404
    body = response.get_json()
    assert schema_set("stet-1.4.2.17.schema.json").problem("ErrorModel", body) is None
    assert "v9" in body["message"]


def test_components_are_the_validators_own_definitions(served_document):
    version, document = served_document
    source = schema_set(version.schema_file).document["$defs"]
    schemas = document["components"]["schemas"]
    for name, definition in source.items():
        served = dict(schemas[name])
        if name == "AccountIdentification":  # the bank's own rule on top of STET's: an IBAN is required
            assert served.pop("required") == ["iban"] and "IBAN only" in served.pop("description")
            definition = {k: v for k, v in definition.items() if k != "description"}
        # Same text once the references are moved from $defs to components/schemas.
        assert json.dumps(served, sort_keys=True) == json.dumps(definition, sort_keys=True).replace(
            "#/$defs/", "#/components/schemas/"
        )
    every_ref = list(refs(document))
    assert every_ref and not [r for r in every_ref if not r.startswith("#/components/")]
    for ref in every_ref:  # each one resolves
        kind, name = ref.split("/")[2:]
        assert name in document["components"][kind], ref


def test_funds_confirmations_operation(served_document):
    version, document = served_document
    operation = document["paths"][FUNDS.format(version.prefix)]["post"]
    assert operation["security"] == [{"accessCode": [version.scope]}, {"bearer": [version.scope]}]
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": f"access token from /token with scope `{version.scope}`"}
    assert document["components"]["securitySchemes"]["accessCode"]["flows"]["authorizationCode"]["scopes"].keys() == {
        version.scope}

    headers = {p["name"]: p for p in operation["parameters"]}
    declared = schema_set(version.schema_file).document["x-stet"]["requestHeaders"]
    assert set(headers) == {h["name"] for h in declared} - {"Authorization"}
    assert all(p["in"] == "header" for p in headers.values())
    assert headers["X-Request-ID"]["required"] is True
    assert headers["X-Request-ID"]["schema"]["maxLength"] == 70
    assert headers["PSU-IP-Address"]["required"] is False

    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PaymentCoverageRequestResource"}
    example = body["examples"]["portal"]["value"]
    assert schema_set(version.schema_file).problem("PaymentCoverageRequestResource", example) is None

    responses = operation["responses"]
    assert responses["200"]["content"]["application/hal+json"]["schema"] == {
        "$ref": "#/components/schemas/HalPaymentCoverageReport"}
    media_type = ERROR_MEDIA_OF[version.prefix] + ("; charset=utf-8" if "hal" in ERROR_MEDIA_OF[version.prefix] else "")
    for status in ("400", "401", "403", "404", "405", "406", "415", "429", "500", "503"):
        model = "Error400Model" if status == "400" and version.prefix == "v1.6.2" else "ErrorModel"
        assert responses[status]["content"] == {media_type: {"schema": {"$ref": f"#/components/schemas/{model}"}}}, status


def test_token_operation(served_document):
    _, document = served_document
    operation = document["paths"]["/token"]["post"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == {"$ref": "#/components/schemas/TokenRequest"}
    assert {r["$ref"].rsplit("/", 1)[1] for r in document["components"]["schemas"]["TokenRequest"]["oneOf"]} == {
        "AuthorizationCodeTokenRequest", "RefreshTokenRequest"}
    code_request = document["components"]["schemas"]["AuthorizationCodeTokenRequest"]
    assert "scope" not in code_request["properties"]  # the bank refuses scope in the code exchange
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TokenResponse")
    for status in ("400", "401", "500", "503"):
        assert operation["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/OAuthError")


def test_real_answers_conform_to_the_document(tpp, client):
    document = client.get("/stet/psd2/v1.4.2/openapi.json").get_json()
    tokens = tpp.tokens()
    assert not list(component_validator(document, "TokenResponse").iter_errors(tokens))
    assert not list(component_validator(document, "OAuthError").iter_errors(tpp.exchange("nope").get_json()))

    report = tpp.confirm(tokens["access_token"])
    assert report.status_code == 200
    assert not list(component_validator(document, "HalPaymentCoverageReport").iter_errors(report.get_json()))
    error = tpp.confirm(tokens["access_token"], portal_body(amount="-1"))
    assert error.status_code == 400
    assert not list(component_validator(document, "ErrorModel").iter_errors(error.get_json()))


def test_document_is_cached_per_version_and_never_shared_mutable():
    assert document_json("v1.4.2") is document_json("v1.4.2")
    assert document_json("v1") != document_json("v1.4.2")
    first, second = build_document(version_for("v1.6.2")), build_document(version_for("v1.6.2"))
    assert first == second and first is not second
    first["components"]["schemas"]["ErrorModel"]["required"].append("mutated")
    assert "mutated" not in schema_set("stet-1.6.2.0.schema.json").document["$defs"]["ErrorModel"]["required"]
    assert json.loads(document_json("v1.6.2")) == second
