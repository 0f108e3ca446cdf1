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
from .versions import JSON, SCOPES, VERSIONS, ApiVersion, version_for

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
    "Digest": "digest of the body, sent by an ASPSP that signs its responses (this sandbox does not)",
    "Signature": "the ASPSP's HTTP signature of its response (draft-cavage), sent by an ASPSP that signs its "
    "responses (this sandbox does not)",
    "Warning": "STET: `299` and a message when the entry point is deprecated (this sandbox never sends it)",
}
# Headers OpenAPI describes elsewhere (security schemes, media types), never as parameters.
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
    """The 200's headers: the version's own list, and STET's Warning where its document has it."""
    names = [h["name"] for h in stet.get("responseHeaders", ({"name": "X-Request-ID"},))]
    return _response_headers(["Warning", *names] if version.warning_header else names)


def _api_error_response(version: ApiVersion, status: int) -> dict:
    """An error as the version declares it: its media type, its 400 model, STET's headers (no Warning on
    500 and 503 in STET either)."""
    schema = version.bad_request_model if status == 400 else ERROR_SCHEMA
    response = _error_response(status, API_ERROR_MEANINGS.get(status, "error"), schema, version.error_media_type)
    warning = version.warning_header and status not in NO_WARNING_STATUSES
    response["headers"] = _response_headers(["Warning", "X-Request-ID"] if warning else ["X-Request-ID"])
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
            "description": "STET's client credentials scheme. Not offered by this bank: /token answers "
            "`unsupported_grant_type` to grant_type=client_credentials",
            "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": scopes}},
        },
        "qwac": {"type": "mutualTLS", "description": "the TPP's eIDAS QWAC certificate"},
    }


def build_document(version: ApiVersion) -> dict:
    """A fresh OpenAPI 3.1 document for ``version`` (built from the validator's schema file)."""
    source = schema_set(version.schema_file).document
    stet = source.get("x-stet", {})
    schemas = {**_bank_rules(_components_refs(source.get("$defs", {}))), **_token_schemas()}
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
        ],
        "paths": {
            f"{STET_PREFIX}/{version.prefix}{stet.get('operation', {}).get('path', '/funds-confirmations')}": {
                "post": _funds_operation(version, stet)
            },
            "/token": {"post": _token_operation()},
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
