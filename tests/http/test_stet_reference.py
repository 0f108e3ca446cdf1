"""Answers and served documents checked against STET's own OpenAPI documents (tests/stet_reference.py).

Each served version is compared with the STET document at or nearest before it: v1 (1.4.0.47) and
v1.4.2 (1.4.2.17) with the bank's 1.4.0.47, v1.6.2 (1.6.2.0) with the unedited 1.5.0.43. What each
version sends is written out below, as README's "STET versions" table gives it.
"""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

import stet_reference
from mock_aspsp.formats.validation import schema_set
from support import SCOPE_OF, STET_OF, portal_body

HAL = "application/hal+json; charset=utf-8"
ERROR_TYPE = {"v1": "application/json", "v1.4.2": HAL, "v1.6.2": HAL}
BAD_REQUEST_MODEL = {"v1": "ErrorModel", "v1.4.2": "ErrorModel", "v1.6.2": "Error400Model"}
HREF_MAX = {"v1": 140, "v1.4.2": 140, "v1.6.2": 2000}
REFERENCE_OF = {"v1": "1.4.0.47", "v1.4.2": "1.4.0.47", "v1.6.2": "1.5.0.43"}
STET_SCHEMES = {"accessCode": "authorizationCode", "resourceOwnerIdentification": "password",
                "clientCredentials": "clientCredentials"}
NOT_GRANTED = {"resourceOwnerIdentification": "password", "clientCredentials": "client_credentials"}
PREFIXES = list(ERROR_TYPE)
FACTS = stet_reference.load()
OTHER_SCOPE = {"piisp": "cbpii", "cbpii": "piisp"}


def reference(prefix):
    return FACTS[REFERENCE_OF[prefix]]


def served(client, prefix):
    return client.get(f"/stet/psd2/{prefix}/openapi.json").get_json()


def funds_operation(document, prefix):
    return document["paths"][f"/stet/psd2/{prefix}/funds-confirmations"]["post"]


def served_validator(document, name):
    return Draft202012Validator({"components": document["components"], "$ref": f"#/components/schemas/{name}"})


def amount_for(prefix):
    """An amount the reference document accepts: a string in 1.4.0.47, a number in 1.5."""
    return 100 if REFERENCE_OF[prefix] == "1.5.0.43" else "100"


def error_answers(tpp, prefix, path_prefix="/stet/psd2"):
    """One answer per refusal of funds-confirmations, by status."""
    url = f"{path_prefix}/{prefix}/funds-confirmations"
    token = tpp.tokens(scope=SCOPE_OF[prefix])["access_token"]
    bearer = {"Authorization": f"Bearer {token}", "X-Request-ID": "ref-1"}
    answers = {
        400: tpp.confirm(token, portal_body(amount="12,5"), version=prefix, prefix=path_prefix),
        401: tpp.client.post(url, json=portal_body(), headers={"X-Request-ID": "ref-1"}),
        404: tpp.confirm(token, version=prefix, prefix=path_prefix, host="99999.localhost"),
        405: tpp.client.get(url, headers=bearer),
        406: tpp.client.post(url, json=portal_body(), headers={**bearer, "Accept": "text/html"}),
        415: tpp.client.post(url, data=json.dumps(portal_body()), content_type="text/plain", headers=bearer),
    }
    other = tpp.tokens(scope=OTHER_SCOPE[SCOPE_OF[prefix]])["access_token"]  # replaces the first token pair
    answers[403] = tpp.confirm(other, version=prefix, prefix=path_prefix)
    return answers


# -- error media type --------------------------------------------------------------------------
@pytest.mark.parametrize("path_prefix", ["/stet/psd2", ""], ids=["stet", "alias"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_errors_are_sent_as_the_version_declares_them(tpp, prefix, path_prefix):
    document = reference(prefix)
    for status, answer in error_answers(tpp, prefix, path_prefix).items():
        assert answer.status_code == status, (status, answer.get_data(as_text=True))
        assert answer.content_type == ERROR_TYPE[prefix], (status, answer.content_type)
        declared = document["responses"].get(str(status))
        media, schema = next(iter(declared["media"].items())) if declared else ("*/*", "ErrorModel")
        assert media in ("*/*", answer.content_type), (status, media)  # what the reference document declares
        errors = list(stet_reference.validator(document, schema).iter_errors(answer.get_json()))
        assert not errors, (status, answer.get_json(), errors[0].message if errors else None)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_served_document_declares_the_error_media_type(client, prefix):
    responses = funds_operation(served(client, prefix), prefix)["responses"]
    for status, declared in reference(prefix)["responses"].items():
        if status == "200":
            continue
        media, schema = next(iter(declared["media"].items()))
        served_content = responses[status]["content"]
        assert list(served_content) == [ERROR_TYPE[prefix]], status
        assert media in ("*/*", ERROR_TYPE[prefix]), status
        assert served_content[ERROR_TYPE[prefix]]["schema"] == {"$ref": f"#/components/schemas/{schema}"}, status


# -- GenericLink.href --------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PREFIXES)
def test_generic_link_href_length_per_version(tpp, client, prefix):
    limit = HREF_MAX[prefix]
    assert reference(prefix)["schemas"]["GenericLink"]["properties"]["href"]["maxLength"] == limit
    assert served(client, prefix)["components"]["schemas"]["GenericLink"]["properties"]["href"]["maxLength"] == limit
    report = tpp.confirm(tpp.tokens(scope=SCOPE_OF[prefix])["access_token"],
                         portal_body(amount=amount_for(prefix)), version=prefix)
    assert report.status_code == 200 and report.content_type == HAL
    body = report.get_json()
    assert not list(stet_reference.validator(reference(prefix), "HalPaymentCoverageReport").iter_errors(body))
    checked = schema_set(f"stet-{STET_OF[prefix]}.schema.json")
    body["_links"]["self"]["href"] = "h" * limit
    assert checked.problem("HalPaymentCoverageReport", body) is None
    body["_links"]["self"]["href"] += "h"
    assert "href" in checked.problem("HalPaymentCoverageReport", body)


# -- 400: ErrorModel, or Error400Model from 1.5 ---------------------------------------------------
def _shape(schema):
    """What a schema constrains, property by property (descriptions aside, references by name)."""
    return {
        "required": sorted(schema.get("required", ())),
        "properties": {
            name: {k: (v.rsplit("/", 1)[1] if k == "$ref" else v) for k, v in sub.items()
                   if k in ("type", "maxLength", "pattern", "enum", "$ref")}
            for name, sub in schema["properties"].items()
        },
    }


@pytest.mark.parametrize("prefix", PREFIXES)
def test_bad_requests_follow_the_versions_400_model(tpp, client, prefix):
    # 1.5's Error400Model is ErrorModel plus the authentication approaches the ASPSP would accept (CR247).
    stet_15 = FACTS["1.5.0.43"]["schemas"]
    assert set(stet_15["Error400Model"]["properties"]) - set(stet_15["ErrorModel"]["properties"]) == {
        "acceptedAuthenticationApproach"}
    assert "Error400Model" not in FACTS["1.4.0.47"]["schemas"]

    document, model = served(client, prefix), BAD_REQUEST_MODEL[prefix]
    declared = funds_operation(document, prefix)["responses"]["400"]["content"][ERROR_TYPE[prefix]]["schema"]
    assert declared == {"$ref": f"#/components/schemas/{model}"}
    assert _shape(document["components"]["schemas"][model]) == _shape(reference(prefix)["schemas"][model])
    approaches = document["components"]["schemas"].get("AuthenticationApproach", {}).get("enum")
    assert approaches == reference(prefix)["schemas"].get("AuthenticationApproach", {}).get("enum")

    token = tpp.tokens(scope=SCOPE_OF[prefix])["access_token"]
    for answer in (tpp.confirm(token, portal_body(amount="12,5"), version=prefix),
                   tpp.confirm(token, version=prefix, request_id=None),
                   tpp.client.post(f"/stet/psd2/{prefix}/funds-confirmations", data="{", content_type="application/json",
                                   headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r"})):
        assert answer.status_code == 400, answer.get_data(as_text=True)
        body = answer.get_json()
        assert not list(served_validator(document, model).iter_errors(body)), body
        assert not list(stet_reference.validator(reference(prefix), model).iter_errors(body)), body
        # Funds confirmations negotiate no authentication approach: nothing to list.
        assert "acceptedAuthenticationApproach" not in body


# -- security schemes ---------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PREFIXES)
def test_stet_security_schemes_are_served_under_stet_names(tpp, client, prefix):
    document = served(client, prefix)
    schemes, scope = document["components"]["securitySchemes"], SCOPE_OF[prefix]
    for name, flow in STET_SCHEMES.items():
        assert flow in reference(prefix)["securitySchemes"][name]["flows"], name  # STET's name for that flow
        assert schemes[name]["type"] == "oauth2" and list(schemes[name]["flows"]) == [flow], name
        assert list(schemes[name]["flows"][flow]["scopes"]) == [scope], name
    assert "accessCode" in {name for requirement in reference(prefix)["security"] for name in requirement}
    assert {"accessCode": [scope]} in funds_operation(document, prefix)["security"]
    for name, grant_type in NOT_GRANTED.items():  # declared, and said to be refused, as /token does
        assert "Not offered" in schemes[name]["description"] and grant_type in schemes[name]["description"]
        refused = tpp.token(grant_type=grant_type, scope=scope)
        assert refused.status_code == 400 and refused.get_json()["error"] == "unsupported_grant_type"


# -- response headers ---------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PREFIXES)
def test_response_headers_are_the_reference_documents(client, prefix):
    responses = funds_operation(served(client, prefix), prefix)["responses"]
    for status, declared in reference(prefix)["responses"].items():
        headers = set(responses[status]["headers"]) - ({"WWW-Authenticate"} if status == "401" else set())
        assert headers == set(declared["headers"]), status
    assert ("Warning" in responses["200"]["headers"]) is (prefix == "v1.6.2")


# -- the facts file is what the documents say ---------------------------------------------------
def test_the_facts_are_the_reference_documents_own():
    folder = stet_reference.reference_dir()
    if folder is None:
        pytest.skip("STET's documents are not on this machine (STET_REFERENCE_DIR)")
    assert stet_reference.from_documents(folder) == FACTS
    # SOURCES.md: the unedited 1.5.0.43, byte for byte.
    assert FACTS["1.5.0.43"]["sha256"] == "801d0fe64ea7b4511384e7eb1623f65ccd25f25ccb130007d8284347dfc19707"
