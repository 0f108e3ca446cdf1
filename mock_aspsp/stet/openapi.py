"""``GET /stet/psd2/{version}/openapi.json``: an OpenAPI 3.1 document per API version.

Built from the very schema file the request validator uses (``formats.validation.schema_set``),
so the document cannot drift from what the bank checks: the ``$defs`` become
``components/schemas`` (OpenAPI 3.1 takes JSON Schema 2020-12 as it is), and the
file's ``x-stet`` metadata gives the headers, the scope and the error statuses.
It also describes ``POST /token`` (RFC 6749 form body, success and error JSON),
so generic tools (Swagger UI, Schemathesis, client generators) can drive both.

Each document is built once per version and process and cached as JSON text,
so no shared mutable object is ever handed out.
"""
from __future__ import annotations

import json
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response

from .. import __version__
from ..formats.validation import schema_set
from ..http.errors import ApiError
from .seal import CERTIFICATES_PATH
from .seal import PEM_TYPE as SEAL_PEM
from .versions import ACTIVE, DECOMMISSIONED, DEPRECATED, JSON, SCOPES, VERSIONS, ApiVersion, version_for

blueprint = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.1.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
STET_PREFIX = "/stet/psd2"
REQUEST_SCHEMA = "PaymentCoverageRequestResource"
REPORT_SCHEMA = "HalPaymentCoverageReport"
ERROR_SCHEMA = "ErrorModel"
# Everything the gateway can answer on funds-confirmations, on top of the version's own list.
API_ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 415, 429, 500, 503)
TOKEN_ERROR_STATUSES = (400, 401, 404, 405, 429, 500, 503)
NO_WARNING_STATUSES = (500, 503)  # STET declares no Warning header on these
RESPONSE_HEADER_MEANINGS = {
    "X-Request-ID": "the request's X-Request-ID, echoed",
    "Digest": "`SHA-256=` and the base64 SHA-256 of the body, when the scenario signs responses "
    "(`settings.sign_responses`)",
    "Signature": "the bank's HTTP signature of its response (draft-cavage, rsa-sha256 over `digest x-request-id`) "
    "by its QSealC, whose keyId is the URL of that certificate here, when the scenario signs responses "
    "(`settings.sign_responses`)",
    "Warning": "STET: `299 - \"...\"` when this version is deprecated (the scenario's `settings.versions`)",
    "Sunset": "RFC 8594: the HTTP-date this version stops answering, once it is deprecated with a "
    "decommission day (the scenario's `settings.versions`)",
}
# Headers OpenAPI describes elsewhere (security schemes, media types), never as parameters.
LIFECYCLE_STATES = (ACTIVE, DEPRECATED, DECOMMISSIONED)
NOT_PARAMETERS = frozenset({"authorization", "content-type", "accept"})

API_ERROR_MEANINGS = {
    400: "malformed request: a header or body field is missing or invalid (named in `message`)",
    401: "no or malformed access token, or one never issued here, expired, replaced (by a refresh, by a new "
    "consent) or revoked (by the TPP, the PSU or the bank), `message` saying which and when; or the TPP is "
    "not authenticated: QWAC "
    "client certificate or QSealC `Signature` missing (strict scenarios), or a signature or `Digest` that "
    "does not verify (named in `message`)",
    403: "token scope, TPP role, profile (revoked, denied) or certificate (another TPP's, untrusted, expired, "
    "revoked), or the PSU's consent does not cover this request",
    404: "unknown API version or establishment (bank code in the host name)",
    405: "method not allowed on this resource",
    406: "`Accept` allows neither application/hal+json nor application/json",
    408: "the bank's back end did not answer in time",
    415: "`Content-Type` is not application/json",
    429: "too many requests",
    500: "internal error of the bank",
    503: "service temporarily unavailable",
}
TOKEN_ERROR_MEANINGS = {
    400: "invalid_request, invalid_grant, unsupported_grant_type or invalid_scope",
    401: "invalid_client: unknown, revoked or denied TPP, or its QWAC client certificate missing (strict "
    "scenarios) or refused (named in `error_description`)",
    404: "unknown establishment (bank code in the host name)",
    405: "method not allowed",
    429: "too many requests",
    500: "server_error",
    503: "temporarily_unavailable",
}
OAUTH_ERROR_CODES = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
)
PORTAL_EXAMPLE = {
    "paymentCoverageRequestId": "MyCoverage123456",
    "instructedAmount": {"currency": "EUR", "amount": "12345"},
    "accountId": {"iban": "YY13RDHN98392489481620896668799742"},
}


def _components_refs(node: Any) -> Any:
    """A copy of ``node`` whose ``#/$defs/X`` references point at ``#/components/schemas/X``."""
    if isinstance(node, dict):
        return {
            key: (
                "#/components/schemas/" + value[len("#/$defs/"):]
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _components_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_components_refs(item) for item in node]
    return node


def _bank_rules(schemas: dict) -> dict:
    """STET's definitions with the bank's own restrictions on what it accepts: an account is named by
    its IBAN only (README, "Funds decision"), so a document says what the API refuses."""
    account = schemas["AccountIdentification"]
    schemas["AccountIdentification"] = {
        **account,
        "description": f"{account.get('description', '')} This bank identifies accounts by IBAN only: "
                       "'iban' is required; a card number or another identification ('other') is refused.".strip(),
        "required": ["iban"],
    }
    return schemas


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _header_parameter(header: dict) -> dict:
    schema: dict = {"type": "string"}
    if header["name"].lower() == "x-request-id":
        schema["minLength"] = 1
    if "maxLength" in header:
        schema["maxLength"] = header["maxLength"]
    parameter = {"name": header["name"], "in": "header", "required": bool(header.get("required")), "schema": schema}
    if header.get("description"):
        parameter["description"] = header["description"]
    return parameter


def _error_response(status: int, meaning: str, schema: str, media_type: str = JSON) -> dict:
    return {
        "description": f"{HTTPStatus(status).phrase}: {meaning}",
        "content": {media_type: {"schema": _ref(schema)}},
    }


def _response_headers(names) -> dict:
    return {name: {"description": RESPONSE_HEADER_MEANINGS[name], "schema": {"type": "string"}} for name in names}


def _report_headers(version: ApiVersion, stet: dict) -> dict:
    """The 200's headers: the version's own list, STET's Warning where its document has it, and the
    bank's Sunset."""
    names = [h["name"] for h in stet.get("responseHeaders", ({"name": "X-Request-ID"},))]
    return _response_headers(["Warning", *names, "Sunset"] if version.warning_header else [*names, "Sunset"])


def _api_error_response(version: ApiVersion, status: int) -> dict:
    """An error as the version declares it: its media type, its 400 model, STET's headers (no Warning on
    500 and 503 in STET either)."""
    schema = version.bad_request_model if status == 400 else ERROR_SCHEMA
    response = _error_response(status, API_ERROR_MEANINGS.get(status, "error"), schema, version.error_media_type)
    warning = version.warning_header and status not in NO_WARNING_STATUSES
    response["headers"] = _response_headers(["Warning", "X-Request-ID", "Sunset"] if warning
                                            else ["X-Request-ID", "Sunset"])
    return response


def _funds_operation(version: ApiVersion, stet: dict) -> dict:
    operation = stet.get("operation", {})
    request_type = operation.get("requestContentType", "application/json")
    report_type = operation.get("responseContentType", "application/hal+json").split(";")[0].strip()
    statuses = sorted(set(API_ERROR_STATUSES) | set(stet.get("errorStatuses", ())))
    responses: dict = {
        "200": {
            "description": "The coverage report: the request as received, `result` true or false, `_links.self`. "
            "No funds are blocked.",
            "headers": _report_headers(version, stet),
            "content": {report_type: {"schema": _ref(REPORT_SCHEMA)}},
        }
    }
    for status in statuses:
        responses[str(status)] = _api_error_response(version, status)
    responses["401"]["headers"]["WWW-Authenticate"] = {
        "description": "RFC 6750 Bearer challenge, or a Signature challenge when the QSealC signature is "
        "missing or wrong",
        "schema": {"type": "string"},
    }
    return {
        "operationId": operation.get("operationId", "fundsConfirmationsPost"),
        "summary": "Payment coverage check (funds availability)",
        "description": f"STET {version.stet}: is the amount covered by the available balance (plus overdraft) "
        f"of the account the PSU consented to? Needs an access token with scope `{version.scope}`. "
        f"Also answered without the `{STET_PREFIX}` prefix (`/{version.prefix}/funds-confirmations`).",
        "tags": ["CBPII"],
        # STET lists its three schemes here and asks each bank to keep the model it implements.
        "security": [{"accessCode": [version.scope]}, {"bearer": [version.scope]}],
        "parameters": [
            _header_parameter(h) for h in stet.get("requestHeaders", ()) if h["name"].lower() not in NOT_PARAMETERS
        ],
        "requestBody": {
            "required": True,
            "content": {request_type: {"schema": _ref(REQUEST_SCHEMA), "examples": {"portal": {"value": PORTAL_EXAMPLE}}}},
        },
        "responses": responses,
    }


def _token_schemas() -> dict:
    client_id = {"type": "string", "minLength": 1, "description": "the TPP's organization identifier (QWAC)"}
    return {
        "AuthorizationCodeTokenRequest": {
            "description": "RFC 6749 §4.1.3. The bank refuses `scope` in the code exchange.",
            "type": "object",
            "required": ["grant_type", "code", "redirect_uri", "client_id"],
            "properties": {
                "grant_type": {"const": "authorization_code"},
                "code": {"type": "string", "minLength": 1},
                "redirect_uri": {"type": "string", "minLength": 1, "description": "the one sent to /authorize"},
                "client_id": client_id,
            },
        },
        "RefreshTokenRequest": {
            "description": "RFC 6749 §6: a new access token, the same refresh token back.",
            "type": "object",
            "required": ["grant_type", "refresh_token", "client_id"],
            "properties": {
                "grant_type": {"const": "refresh_token"},
                "refresh_token": {"type": "string", "minLength": 1},
                "client_id": client_id,
                "scope": {"type": "string", "enum": sorted(SCOPES), "description": "if sent, the grant's own scope"},
            },
        },
        "TokenRequest": {
            "oneOf": [_ref("AuthorizationCodeTokenRequest"), _ref("RefreshTokenRequest")],
        },
        "TokenResponse": {
            "description": "RFC 6749 §5.1 successful token response.",
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
            "properties": {
                "access_token": {"type": "string", "minLength": 1},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer", "minimum": 1},
                "refresh_token": {"type": "string", "minLength": 1},
                "scope": {"type": "string", "enum": sorted(SCOPES)},
            },
        },
        "OAuthError": {
            "description": "RFC 6749 §5.2 error response.",
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "enum": list(OAUTH_ERROR_CODES)},
                "error_description": {"type": "string"},
                "error_uri": {"type": "string"},
            },
        },
    }


def _token_operation() -> dict:
    no_store = {"Cache-Control": {"description": "always no-store", "schema": {"type": "string"}}}
    responses: dict = {
        "200": {
            "description": "Access token (about 1 h) and refresh token (180 days).",
            "headers": no_store,
            "content": {"application/json": {"schema": _ref("TokenResponse")}},
        }
    }
    for status in TOKEN_ERROR_STATUSES:
        responses[str(status)] = {
            **_error_response(status, TOKEN_ERROR_MEANINGS[status], "OAuthError"),
            "headers": no_store,
        }
    return {
        "operationId": "tokenPost",
        "summary": "Token endpoint (authorization code exchange, refresh)",
        "description": "The TPP is authenticated by its QWAC (mutual TLS) and names itself by `client_id`.",
        "tags": ["OAuth2"],
        "security": [{"qwac": []}],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")}},
        },
        "responses": responses,
    }


def _certificate_operation() -> dict:
    return {
        "operationId": "bankCertificateGet",
        "summary": "The bank's QSealC, at the URL its response signatures name as keyId",
        "description": "A signed answer's keyId is this URL: `bank-qsealc_` and the certificate's SHA-256 "
        "fingerprint (hex), as STET's keyIds end. The certificate is issued by the sandbox's test CA.",
        "tags": ["Signatures"],
        "security": [],
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"},
                        "description": "`bank-qsealc_<SHA-256>`, as the keyId gives it"}],
        "responses": {
            "200": {"description": "The certificate, PEM", "content": {SEAL_PEM: {"schema": {"type": "string"}}}},
            "404": _error_response(404, "no certificate of that name: the one a keyId names is served", ERROR_SCHEMA),
        },
    }


def _versions_schemas() -> dict:
    day = {"type": ["string", "null"], "format": "date"}
    return {
        "ApiVersionLifecycle": {
            "type": "object",
            "required": ["version", "stet", "scope", "path", "deprecated_on", "decommissioned_on", "state"],
            "properties": {
                "version": {"type": "string", "enum": [v.prefix for v in VERSIONS]},
                "stet": {"type": "string"},
                "scope": {"type": "string", "enum": sorted(SCOPES)},
                "path": {"type": "string"},
                "deprecated_on": day,
                "decommissioned_on": day,
                "state": {"type": "string", "enum": list(LIFECYCLE_STATES)},
            },
        },
        "ApiVersions": {
            "type": "object",
            "required": ["now", "versions"],
            "properties": {
                "now": {"type": "string", "format": "date-time", "description": "mock time"},
                "versions": {"type": "array", "items": _ref("ApiVersionLifecycle")},
            },
        },
    }


def _versions_operation() -> dict:
    return {
        "operationId": "adminVersionsGet",
        "summary": "Sandbox admin: each API version's lifecycle and its state now (mock clock)",
        "description": "From the scenario's `settings.versions`. Like all of `/__admin`, answered to loopback "
        "hosts only unless an admin token is set.",
        "tags": ["Sandbox"],
        "security": [],
        "responses": {
            "200": {"description": "The versions", "content": {JSON: {"schema": _ref("ApiVersions")}}},
            "401": _error_response(401, "the admin token is set and was not sent", ERROR_SCHEMA),
            "403": _error_response(403, "refused without an admin token (host or origin)", ERROR_SCHEMA),
        },
    }


def _security_schemes(version: ApiVersion) -> dict:
    """STET's three OAuth2 schemes under STET's names, each saying whether this bank grants it, plus a plain
    bearer token (for tools that take a pasted token) and the QWAC."""
    scopes = {version.scope: f"funds availability checks ({version.prefix})"}
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": f"access token from /token with scope `{version.scope}`",
        },
        "accessCode": {
            "type": "oauth2",
            "description": "STET's authorization code scheme, the one this bank implements: the redirect flow "
            "with the bank's own identification, SCA and consent pages",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/authorize", "tokenUrl": "/token", "refreshUrl": "/token", "scopes": scopes,
                }
            },
        },
        "resourceOwnerIdentification": {
            "type": "oauth2",
            "description": "STET's resource owner password scheme. Not offered by this bank: /token answers "
            "`unsupported_grant_type` to grant_type=password",
            "flows": {"password": {"tokenUrl": "/token", "scopes": scopes}},
        },
        "clientCredentials": {
            "type": "oauth2",
            "description": "STET's client credentials scheme. Not offered by this bank for this API: "
            "grant_type=client_credentials gives only the registration API's token (scope manageRegistration, "
            "the generic registration client_id); with a TPP's own client_id /token answers `unauthorized_client`",
            "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": scopes}},
        },
        "qwac": {"type": "mutualTLS", "description": "the TPP's eIDAS QWAC certificate"},
    }


def build_document(version: ApiVersion) -> dict:
    """A fresh OpenAPI 3.1 document for ``version`` (built from the validator's schema file)."""
    source = schema_set(version.schema_file).document
    stet = source.get("x-stet", {})
    schemas = {**_bank_rules(_components_refs(source.get("$defs", {}))), **_token_schemas(), **_versions_schemas()}
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {
            "title": f"mock-aspsp - STET PSD2 {version.stet} funds confirmations ({version.prefix})",
            "version": version.stet,
            "description": f"{source.get('title', '')}. Served by the mock-aspsp {__version__} sandbox; "
            f"the schemas are the ones its request validator applies.",
        },
        "servers": [{"url": "/", "description": "this sandbox"}],
        "tags": [
            {"name": "CBPII", "description": "funds availability for card issuers"},
            {"name": "OAuth2", "description": "authorization server of the bank"},
            {"name": "Signatures", "description": "the bank's certificate for its signed responses"},
            {"name": "Sandbox", "description": "the sandbox's admin API"},
        ],
        "paths": {
            f"{STET_PREFIX}/{version.prefix}{stet.get('operation', {}).get('path', '/funds-confirmations')}": {
                "post": _funds_operation(version, stet)
            },
            "/token": {"post": _token_operation()},
            f"{CERTIFICATES_PATH}/{{name}}": {"get": _certificate_operation()},
            "/__admin/versions": {"get": _versions_operation()},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": _security_schemes(version),
        },
        "x-stet": {"version": version.stet, "scope": version.scope, "schemaFile": version.schema_file},
    }


@lru_cache(maxsize=len(VERSIONS))
def document_json(prefix: str) -> str:
    """The served text, built once per version and process (immutable, so safe to share)."""
    version = version_for(prefix)
    assert version is not None
    return json.dumps(build_document(version), ensure_ascii=False)


@blueprint.get(f"{STET_PREFIX}/<prefix>/openapi.json")
@blueprint.get("/<prefix>/openapi.json")
def openapi(prefix: str) -> Response:
    if version_for(prefix) is None:
        raise ApiError(404, f"no API version {prefix}; this bank serves {', '.join(v.prefix for v in VERSIONS)}")
    return Response(document_json(prefix), 200, content_type="application/json; charset=utf-8")


# -- the registration API (``stet.registration``) --------------------------------------------------
REGISTRATION_PREFIX = "/stet/setting/v1"
REGISTRATION_ERROR_STATUSES = (400, 401, 403, 404, 405, 415, 429, 500, 503)
REGISTRATION_ERROR_MEANINGS = {
    **API_ERROR_MEANINGS,
    400: "malformed request: X-Request-ID missing, body not JSON, an unknown or invalid field, a redirect URI "
    "that cannot be registered, or no QSealC certificate in jwks.keys (named in `message`)",
    401: "no, unknown or expired registration token; Signature missing, or not by the QSealC of jwks.keys[0] "
    "(first registration) or a registered one; a Digest that does not verify",
    403: "a certificate of another TPP (organizationIdentifier mismatch), from an untrusted CA, expired, revoked "
    "or without PSP_IC; or the registration belongs to another TPP",
    404: "no registration with this client_id, or unknown establishment",
}


def _registration_headers(body: bool) -> list[dict]:
    headers = [
        {"name": "X-Request-ID", "in": "header", "required": True, "schema": {"type": "string", "minLength": 1,
                                                                             "maxLength": 70}},
        {"name": "Signature", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "draft-cavage HTTP signature by the QSealC: (request-target), x-request-id, digest"},
    ]
    if body:
        headers.append({"name": "Digest", "in": "header", "required": True, "schema": {"type": "string"},
                        "description": "SHA-256=<base64 of the body's SHA-256>"})
    return headers


def _registration_operation(operation_id: str, summary: str, status: int, body: bool, answer: bool) -> dict:
    responses: dict = {str(status): {"description": HTTPStatus(status).phrase}}
    if answer:
        responses[str(status)]["content"] = {"application/json": {"schema": _ref("RegistrationResponse")}}
    for code in REGISTRATION_ERROR_STATUSES:
        responses[str(code)] = _error_response(code, REGISTRATION_ERROR_MEANINGS[code], ERROR_SCHEMA)
    operation = {"operationId": operation_id, "summary": summary, "tags": ["Registration"],
                 "security": [{"registration": []}], "parameters": _registration_headers(body),
                 "responses": responses}
    if body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": _ref("RegistrationRequest")}}}
    return operation


def build_registration_document() -> dict:
    """The registration API and its token endpoint, from the schema file its validator applies."""
    from ..tpp.registration import GENERIC_CLIENT_IDS, SCHEMA_FILE, SCOPE

    definitions = _components_refs(schema_set(SCHEMA_FILE).document["$defs"])
    error_model = schema_set(VERSIONS[0].schema_file).document["$defs"][ERROR_SCHEMA]
    client_id_path = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}}
    one = {
        "parameters": [client_id_path],
        "get": _registration_operation("registrationGet", "Read a registration", 200, False, True),
        "put": _registration_operation("registrationPut", "Change a registration", 200, True, True),
        "delete": _registration_operation("registrationDelete", "Remove a registration", 204, False, False),
    }
    token_request = {
        "type": "object",
        "required": ["grant_type", "scope", "client_id"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "scope": {"type": "string", "enum": [SCOPE]},
            "client_id": {"type": "string", "enum": list(GENERIC_CLIENT_IDS)},
        },
    }
    token = _token_operation()
    token.update(operationId="registrationTokenPost", summary="Registration token (client_credentials)",
                 description="The TPP is authenticated by its QWAC (mutual TLS, always required here).")
    token["requestBody"] = {"required": True,
                            "content": {"application/x-www-form-urlencoded": {"schema": _ref("RegistrationTokenRequest")}}}
    token["responses"]["200"] = {"description": "A registration token (no refresh token).",
                                 "headers": token["responses"]["200"]["headers"],
                                 "content": {"application/json": {"schema": _ref("RegistrationTokenResponse")}}}
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {"title": "mock-aspsp - PSD2 registration API", "version": "1",
                 "description": f"The bank's registration API (RFC 7591 / 7592 as its portal documents it). Served "
                                f"by the mock-aspsp {__version__} sandbox; the schemas are its validator's."},
        "servers": [{"url": "/", "description": "this sandbox"}],
        "tags": [{"name": "Registration", "description": "register a TPP's application once for every bank"},
                 {"name": "OAuth2", "description": "authorization server of the bank"}],
        "paths": {
            f"{REGISTRATION_PREFIX}/register": {
                "post": _registration_operation("registrationPost", "Register an application", 201, True, True)},
            f"{REGISTRATION_PREFIX}/register/{{client_id}}": one,
            f"{STET_PREFIX}/oauth/token": {"post": token},
        },
        "components": {
            "schemas": {
                **definitions,
                "RegistrationResponse": {
                    "description": "RFC 7591 §3.2.1: the client_id the bank generated and the registered metadata.",
                    "type": "object", "required": ["client_id", "client_id_issued_at", "redirect_uris"],
                    "properties": {"client_id": {"type": "string", "minLength": 1},
                                   "client_id_issued_at": {"type": "integer"},
                                   **definitions["RegistrationRequest"]["properties"]},
                },
                "RegistrationTokenRequest": token_request,
                "RegistrationTokenResponse": {
                    "type": "object", "required": ["access_token", "token_type", "expires_in", "scope"],
                    "properties": {"access_token": {"type": "string", "minLength": 1},
                                   "token_type": {"type": "string", "enum": ["Bearer"]},
                                   "expires_in": {"type": "integer", "minimum": 1},
                                   "scope": {"type": "string", "enum": [SCOPE]}},
                },
                "OAuthError": _token_schemas()["OAuthError"],
                ERROR_SCHEMA: error_model,
            },
            "securitySchemes": {
                "registration": {"type": "http", "scheme": "bearer",
                                 "description": f"registration token: client_credentials, scope `{SCOPE}`"},
                "qwac": {"type": "mutualTLS", "description": "the TPP's eIDAS QWAC certificate"},
            },
        },
    }


@lru_cache(maxsize=1)
def registration_document_json() -> str:
    return json.dumps(build_registration_document(), ensure_ascii=False)


@blueprint.get(f"{REGISTRATION_PREFIX}/openapi.json")
def registration_openapi() -> Response:
    return Response(registration_document_json(), 200, content_type="application/json; charset=utf-8")
