"""Token rules of the bank (portal, "Retrieve your token" and "Refresh your token").

Plain functions over the store and the scenario, tested without HTTP:

* an authorization code is single use, short lived, bound to the TPP and the
  ``redirect_uri``; replaying it revokes the pair it produced;
* the code exchange carries no ``scope``, and the ``code_verifier`` of the PKCE challenge the code
  was issued with (``pkce``);
* a refresh gives a new access token and the *same* refresh token back, kills
  the old access token, and is refused once the PSU's last strong
  authentication is older than the re-authentication period (180 days);
* at most one live pair per PSU / TPP at a bank (the store enforces it): a new
  consent replaces the live pair;
* revoking either token revokes both;
* a dead token says why it died (``death``): replaced by a refresh or by a new
  consent, revoked by the TPP, the PSU or the bank or with its client's
  registration, expired; a token this bank never issued says that instead.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from ..bank.clock import isoformat
from ..bank.scenario import Scenario, Tpp
from ..formats.quoting import quoted
from ..http.errors import ApiError, OAuthError
from ..stet.versions import ApiVersion
from ..store.interface import Store
from ..store.records import (REMOVED_WITH_REGISTRATION_BY_BANK, REMOVED_WITH_REGISTRATION_BY_TPP, REPLACED_BY_CONSENT,
                             REPLACED_BY_REFRESH, REVOKED_BY_BANK, REVOKED_BY_PSU, REVOKED_BY_TPP, Grant, token_hash)
from ..tpp.certificates import TppCertificate
from ..tpp.registration import SCOPE as REGISTRATION_SCOPE
from .pkce import verifier_problem


UNKNOWN_ACCESS_TOKEN = "access token unknown: this bank never issued it"
UNKNOWN_REFRESH_TOKEN = "refresh token unknown: this bank never issued it"
CONSENT_AGAIN = "redirect the PSU to /authorize again"
REGISTER_AGAIN = "this client_id is gone: register again"
NEXT_STEP = {  # what the TPP does next, by the reason its token died; any revocation: CONSENT_AGAIN
    REPLACED_BY_REFRESH: "use the access token that refresh returned",
    REPLACED_BY_CONSENT: "one live pair per PSU, TPP and bank, use the newest",
    REMOVED_WITH_REGISTRATION_BY_TPP: REGISTER_AGAIN,
    REMOVED_WITH_REGISTRATION_BY_BANK: REGISTER_AGAIN,
}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def death(token: str, reason: str, at: datetime) -> str:
    """How /token and the API name a dead token: what killed it, when, and what the TPP does next."""
    return f"{token} {reason} on {isoformat(at)}: {NEXT_STEP.get(reason, CONSENT_AGAIN)}"


@dataclass(frozen=True)
class Consent:
    """What the PSU approved on the bank's pages, carried by the code."""

    bank: str
    psu: str
    client_id: str
    redirect_uri: str
    scope: str
    iban: str
    authenticated_at: datetime
    code_challenge: Optional[str] = None  # PKCE: the code is only exchanged with the matching code_verifier
    code_challenge_method: Optional[str] = None


def issue_code(store: Store, scenario: Scenario, now: datetime, consent: Consent) -> str:
    code = new_secret()
    data = {
        "bank": consent.bank,
        "psu": consent.psu,
        "client_id": consent.client_id,
        "redirect_uri": consent.redirect_uri,
        "scope": consent.scope,
        "iban": consent.iban,
        "authenticated_at": consent.authenticated_at.timestamp(),
        "code_challenge": consent.code_challenge,
        "code_challenge_method": consent.code_challenge_method,
    }
    store.put_code(code, data, now + scenario.settings.tokens.authorization_code_lifetime)
    return code


def _require(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"the '{name}' parameter is missing")
    return value


def _token_response(access_token: str, refresh_token: str, grant: Grant, scenario: Scenario) -> dict:
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(scenario.settings.tokens.access_token_lifetime.total_seconds()),
        "refresh_token": refresh_token,
        "scope": grant.scope,
    }


def exchange_code(
    store: Store, scenario: Scenario, now: datetime, bank: str, tpp: Tpp, form: Mapping[str, str]
) -> dict:
    """grant_type=authorization_code (RFC 6749 §4.1.3, STET Part I §3.4.3)."""
    if "scope" in form:
        raise OAuthError(
            "invalid_request", "the 'scope' parameter must not be sent with the authorization_code grant"
        )
    code = _require(form, "code")
    redirect_uri = _require(form, "redirect_uri")
    record = store.code(code)
    if record is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    data = record.data
    if not record.redeemed:
        # Checked before the code is spent, so a mistaken request does not burn it.
        if now >= record.expires_at:
            raise OAuthError("invalid_grant", "authorization code expired")
        if data["client_id"] != tpp.client_id:
            raise OAuthError("invalid_grant", "authorization code was issued to another client")
        if data["redirect_uri"] != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the one used at /authorize")
        if data["bank"] != bank:
            raise OAuthError("invalid_grant", "authorization code was issued by another establishment")
        problem = verifier_problem(data.get("code_challenge"), data.get("code_challenge_method"),
                                   form.get("code_verifier"))
        if problem:
            raise OAuthError("invalid_grant", problem)
    if not store.redeem_code(code, now):
        store.revoke_code_grant(code, now)
        raise OAuthError(
            "invalid_grant", "authorization code already used; the tokens it produced are revoked"
        )
    access_token, refresh_token = new_secret(), new_secret()
    tokens = scenario.settings.tokens
    grant = Grant(
        id=new_secret(),
        bank=bank,
        psu=data["psu"],
        client_id=tpp.client_id,
        scope=data["scope"],
        iban=data["iban"],
        authenticated_at=datetime.fromtimestamp(data["authenticated_at"], now.tzinfo),
        issued_at=now,
        access_hash=token_hash(access_token),
        access_expires_at=now + tokens.access_token_lifetime,
        refresh_hash=token_hash(refresh_token),
        refresh_expires_at=now + tokens.refresh_token_lifetime,
    )
    store.issue_grant(grant, now, code=code)
    return _token_response(access_token, refresh_token, grant, scenario)


def refresh(
    store: Store, scenario: Scenario, now: datetime, bank: str, tpp: Tpp, form: Mapping[str, str]
) -> dict:
    """grant_type=refresh_token: new access token, same refresh token, old access token dead."""
    refresh_token = _require(form, "refresh_token")
    grant = store.grant_by_refresh_token(refresh_token)
    if grant is None:
        raise OAuthError("invalid_grant", UNKNOWN_REFRESH_TOKEN)
    if grant.bank != bank:
        raise OAuthError("invalid_grant", f"refresh token issued by another establishment than {bank}")
    if grant.client_id != tpp.client_id:
        raise OAuthError("invalid_grant", "refresh token issued to another client")
    if grant.revoked_at is not None:
        raise OAuthError("invalid_grant", death("refresh token", grant.revoked_reason, grant.revoked_at))
    if now - grant.authenticated_at >= scenario.settings.tokens.reauthentication_after:
        raise OAuthError(
            "invalid_grant",
            "the PSU's last strong authentication is too old: redirect the PSU to /authorize again",
        )
    if now >= grant.refresh_expires_at:
        raise OAuthError("invalid_grant",
                         f"refresh token expired on {isoformat(grant.refresh_expires_at)}: {CONSENT_AGAIN}")
    if form.get("scope") not in (None, grant.scope):
        raise OAuthError("invalid_scope", f"this refresh token only grants the scope '{grant.scope}'")
    access_token = new_secret()
    expires_at = now + scenario.settings.tokens.access_token_lifetime
    if not store.replace_access_token(grant.id, access_token, expires_at, now):
        revoked = store.grant(grant.id)  # revoked since it was read (a revocation, a new consent)
        if revoked is None:  # cleaned up in between (a Redis TTL)
            raise OAuthError("invalid_grant", UNKNOWN_REFRESH_TOKEN)
        raise OAuthError("invalid_grant", death("refresh token", revoked.revoked_reason, revoked.revoked_at))
    return _token_response(access_token, refresh_token, grant, scenario)


def refuse_refresh(store: Store, now: datetime, tpp: Tpp, refresh_token: str) -> None:
    """The answer once the re-authentication period is over, given early (a conformance module): the pair
    is revoked, so the TPP's only way on is a new PSU journey."""
    grant = store.grant_by_refresh_token(refresh_token)
    if grant is not None and grant.client_id == tpp.client_id:
        store.revoke_grants(now, f"{REVOKED_BY_BANK} (the PSU's last strong authentication is too old)",
                            grant_id=grant.id)
    raise OAuthError("invalid_grant", "the PSU's last strong authentication is too old: redirect the PSU to "
                                      "/authorize again")


def revoke(store: Store, now: datetime, bank: str, tpp: Tpp, form: Mapping[str, str]) -> None:
    """RFC 7009: revoke the pair behind either token; unknown tokens are not an error."""
    token = _require(form, "token")
    hint = form.get("token_type_hint")
    if hint not in (None, "access_token", "refresh_token"):
        raise OAuthError("unsupported_token_type", f"token_type_hint {quoted(hint, 64)} is not supported")
    lookups = [store.grant_by_access_token, store.grant_by_refresh_token]
    if hint == "refresh_token":
        lookups.reverse()
    grant = next((g for g in (lookup(token) for lookup in lookups) if g is not None), None)
    if grant is None or grant.bank != bank:
        return
    if grant.client_id != tpp.client_id:
        raise OAuthError("unauthorized_client", "this token was not issued to this client")
    store.revoke_grants(now, REVOKED_BY_TPP, grant_id=grant.id)


def registration_grant(store: Store, scenario: Scenario, now: datetime, qwac: TppCertificate,
                       form: Mapping[str, str]) -> dict:
    """grant_type=client_credentials, scope manageRegistration: a token for the registration API, bound to
    the organizationIdentifier of the QWAC that asked for it (no refresh token: ask again)."""
    if form.get("scope") != REGISTRATION_SCOPE:
        raise OAuthError("invalid_scope", f"client_credentials gives the scope {REGISTRATION_SCOPE} only; "
                                          f"send scope={REGISTRATION_SCOPE}")
    token = new_secret()
    lifetime = scenario.settings.tokens.access_token_lifetime
    store.put_registration_token(token, qwac.organization_identifier, now + lifetime)
    return {"access_token": token, "token_type": "Bearer", "expires_in": int(lifetime.total_seconds()),
            "scope": REGISTRATION_SCOPE}


def registration_bearer(store: Store, now: datetime, authorization: Optional[str]) -> str:
    """The organizationIdentifier behind a registration API call's ``Authorization: Bearer`` (RFC 6750)."""
    scheme, _, token = (authorization or "").partition(" ")
    if not authorization:
        raise _unauthorized("Authorization header is missing: send 'Authorization: Bearer <registration token>' "
                            f"(client_credentials, scope {REGISTRATION_SCOPE})", None)
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <registration token>'", "invalid_request")
    found = store.registration_token(token.strip())
    if found is None:
        raise _unauthorized(f"not a registration token: get one with client_credentials and scope "
                            f"{REGISTRATION_SCOPE}", "invalid_token")
    organization, expires_at = found
    if now >= expires_at:
        raise _unauthorized("registration token expired: get a new one at /stet/psd2/oauth/token", "invalid_token")
    return organization


REVOKERS = {"bank": REVOKED_BY_BANK, "psu": REVOKED_BY_PSU}  # who withdraws access (the admin API's ``by``)


def withdraw(store: Store, now: datetime, by: str, detail: Optional[str] = None, **criteria: Optional[str]
             ) -> list[str]:
    """The bank, or the PSU (on its access dashboard, or QA on its behalf: ``by="psu"``), withdraws access:
    every live pair matching ``criteria`` dies at once, keeping who did it (and the bank's ``detail``)."""
    return store.revoke_grants(now, REVOKERS[by] + (f" ({detail})" if detail else ""), **criteria)


def bearer_grant(
    store: Store, now: datetime, bank: str, authorization: Optional[str], version: ApiVersion
) -> Grant:
    """The live pair behind an API call's ``Authorization: Bearer`` (RFC 6750 errors)."""
    scheme, _, token = (authorization or "").partition(" ")
    if not authorization:
        raise _unauthorized("Authorization header is missing: send 'Authorization: Bearer <access_token>'", None)
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <access_token>'", "invalid_request")
    grant = store.grant_by_access_token(token.strip())
    replaced = store.replaced_access_token(token.strip()) if grant is None else None
    if replaced is not None:
        grant = replaced.grant
    if grant is None:
        raise _unauthorized(UNKNOWN_ACCESS_TOKEN, "invalid_token")
    if grant.bank != bank:
        raise _unauthorized(f"access token issued by another establishment than {bank}", "invalid_token")
    if replaced is not None:
        raise _unauthorized(death("access token", REPLACED_BY_REFRESH, replaced.replaced_at), "invalid_token")
    if grant.revoked_at is not None:
        raise _unauthorized(death("access token", grant.revoked_reason, grant.revoked_at), "invalid_token")
    if now >= grant.access_expires_at:
        raise _unauthorized(f"access token expired on {isoformat(grant.access_expires_at)}: use the refresh "
                            "token at /token", "invalid_token")
    if grant.scope != version.scope:
        raise ApiError(
            403,
            f"token scope '{grant.scope}' does not give access to {version.prefix}; it needs '{version.scope}'",
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{version.scope}"'},
        )
    return grant


def _unauthorized(message: str, error: Optional[str]) -> ApiError:
    challenge = 'Bearer realm="mock-aspsp"' + (f', error="{error}"' if error else "")
    return ApiError(401, message, {"WWW-Authenticate": challenge})
