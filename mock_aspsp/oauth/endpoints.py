"""``POST /token``, ``POST /revoke`` (RFC 7009) and the RFC 8414 metadata document.

``/stet/psd2/oauth/token`` is the same endpoint under the path the bank's portal gives it (its
registration pages); ``client_credentials`` there gives the registration API's token (``tpp.registration``).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..conformance.modules import REFRESH
from ..formats.quoting import quoted
from ..http.conformance import misbehave
from ..http.errors import OAuthError
from ..http.web import sandbox, served_bank, snapshot
from ..stet.versions import SCOPES
from . import tokens
from ..tpp import registration
from .clients import authenticate_client, authenticate_registering_tpp

blueprint = Blueprint("oauth", __name__)

FORM = "application/x-www-form-urlencoded"
GRANTS = {"authorization_code": tokens.exchange_code, "refresh_token": tokens.refresh}


def _form() -> dict:
    if request.mimetype != FORM:
        raise OAuthError("invalid_request", f"the body must be {FORM}")
    form = request.form
    repeated = next((k for k in form if len(form.getlist(k)) > 1), None)
    if repeated:
        raise OAuthError("invalid_request", f"the {quoted(repeated, 64)} parameter is repeated")
    return form.to_dict()


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blueprint.post("/token")
@blueprint.post("/stet/psd2/oauth/token")
def token() -> Response:
    form = _form()
    bank = served_bank(snapshot().scenario)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "the 'grant_type' parameter is missing")
    scenario, now = snapshot().scenario, snapshot().now
    if grant_type == "client_credentials":
        qwac = authenticate_registering_tpp(scenario, form, sandbox().store, now)
        return _no_store(jsonify(tokens.registration_grant(sandbox().store, scenario, now, qwac, form)))
    if grant_type not in GRANTS:
        raise OAuthError("unsupported_grant_type", "this bank accepts authorization_code and refresh_token "
                                                   "(and client_credentials for the registration API)")
    tpp = authenticate_client(scenario, form, sandbox().store, now, "token")
    if grant_type == "refresh_token" and form.get("refresh_token") and misbehave(tpp.client_id, REFRESH):
        tokens.refuse_refresh(sandbox().store, now, tpp, form["refresh_token"])  # conformance module refresh-refused
    return _no_store(jsonify(GRANTS[grant_type](sandbox().store, scenario, now, bank, tpp, form)))


@blueprint.post("/revoke")
def revoke() -> Response:
    form = _form()
    bank = served_bank(snapshot().scenario)
    tpp = authenticate_client(snapshot().scenario, form, sandbox().store, snapshot().now, "revoke")
    tokens.revoke(sandbox().store, snapshot().now, bank, tpp, form)
    return _no_store(Response(status=200))


@blueprint.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414 metadata of the bank the host names; an unknown bank code is a 404, as on the API."""
    served_bank(snapshot().scenario)
    base = request.host_url.rstrip("/")
    return jsonify(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "revocation_endpoint": f"{base}/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": [*GRANTS, "client_credentials"],
            "scopes_supported": [*sorted(SCOPES), registration.SCOPE],
            "code_challenge_methods_supported": list(snapshot().scenario.settings.pkce_methods),
            "token_endpoint_auth_methods_supported": ["tls_client_auth"],
            "revocation_endpoint_auth_methods_supported": ["tls_client_auth"],
            "tls_client_certificate_bound_access_tokens": False,
        }
    )
