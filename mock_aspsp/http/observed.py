"""What the journal keeps of a request for the go-live checks (``conformance``), beyond path and status.

Only what a check judges: whether ``scope`` or a ``code_challenge`` was sent, the
``redirect_uri``, the state's strength, the PSU's revocations on its dashboard, and tokens, codes and states as SHA-256
fingerprints (``records.token_hash``), never in clear. ``real`` is the real time
of the request (the sandbox's injectable clock, not mock time): the Retry-After
rules are about real seconds, whatever QA does with the mock's clock.
"""
from __future__ import annotations

import math
import string
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from flask import Request, Response
from werkzeug.exceptions import HTTPException

from ..store.records import token_hash
from ..tpp.transport import client_certificate
from .web import sandbox

# The alphabets a state is usually drawn from, smallest first: its strength is its length times the
# bits of the smallest alphabet holding all its characters (an upper bound, as a real entropy estimate).
_ALPHABETS = (
    string.digits,
    string.digits + "abcdef",
    string.digits + "ABCDEF",
    string.digits + string.ascii_lowercase,
    string.digits + string.ascii_uppercase,
    string.digits + string.ascii_letters,
    string.digits + string.ascii_letters + "-_",
    string.digits + string.ascii_letters + "-_+/=.~",
)


def state_bits(state: str) -> int:
    """At most how many bits of randomness a state of this length and alphabet can hold."""
    chars = set(state)
    size = next((len(a) for a in _ALPHABETS if chars <= set(a)), 95)
    if len(chars) == 1:  # "aaaa...": no randomness at all, whatever its length
        return 0
    return int(len(state) * math.log2(size))


def _fingerprint(value: Optional[str]) -> Optional[str]:
    return token_hash(value) if value else None


def _bearer(request: Request) -> Optional[str]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _callback(response: Response) -> Optional[dict]:
    """A redirect back to the TPP (with a code or an error): where to, and what it carried."""
    location = response.headers.get("Location") if response.status_code in (302, 303) else None
    if not location or location.startswith("/"):
        return None
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if "code" not in query and "error" not in query:
        return None
    return {
        "redirect_uri": parts._replace(query="", fragment="").geturl(),
        "code_hash": _fingerprint(query.get("code")),
        "state_hash": _fingerprint(query.get("state")),
        "error": query.get("error"),
    }


def _authorize(request: Request) -> dict:
    state = request.args.get("state")
    return {
        "state_hash": _fingerprint(state),
        "state_bits": state_bits(state) if state else 0,
        "redirect_uri": request.args.get("redirect_uri"),
        "code_challenge_method": (request.args.get("code_challenge_method") or "plain")
        if request.args.get("code_challenge") else None,
    }


def _json(response: Response) -> dict:
    body = response.get_json(silent=True) if response.mimetype == "application/json" else None
    return body if isinstance(body, dict) else {}


def _form(request: Request):
    if request.mimetype != "application/x-www-form-urlencoded":
        return {}
    try:
        return request.form
    except HTTPException:  # a body too large to read (413): the answer already says so
        return {}


def _token(request: Request, response: Response) -> dict:
    form = _form(request)
    body = _json(response)
    return {
        "grant_type": form.get("grant_type"),
        "scope_sent": "scope" in form,
        "redirect_uri": form.get("redirect_uri"),
        "code_hash": _fingerprint(form.get("code")),
        "refresh_hash": _fingerprint(form.get("refresh_token")),
        "error": body.get("error"),
        "issued_access": _fingerprint(body.get("access_token")),
        "issued_refresh": _fingerprint(body.get("refresh_token")),
    }


def _token_problem(context: Any, token: Optional[str], now) -> tuple[Optional[str], Optional[bool]]:
    """Why a 401 refused the bearer token ("expired", "revoked", "replaced" by a refresh, "unknown"),
    and whether its refresh token could still be used."""
    if context.get("token_problem"):  # said by a conformance module
        return context.token_problem, True
    grant = sandbox().store.grant_by_access_token(token) if token else None
    if grant is None:
        replaced = sandbox().store.replaced_access_token(token) if token else None
        return ("replaced" if replaced else "unknown"), None
    if grant.revoked_at is not None:
        return "revoked", False
    settings = context.snapshot.scenario.settings.tokens
    usable = now < grant.refresh_expires_at and now - grant.authenticated_at < settings.reauthentication_after
    return ("expired" if now >= grant.access_expires_at else None), usable


def _api(request: Request, context: Any, response: Response, body: Optional[bytes]) -> dict:
    token = _bearer(request)
    signature = context.get("signature")
    if signature is None and "HTTP_SIGNATURE" not in request.environ:
        signature = "missing"
    funds_check = context.get("funds_check")  # the view's answer, as its body says it: not parsed back
    facts = {
        "access_hash": _fingerprint(token),
        "signature": signature,
        "body_hash": token_hash(body.decode("latin-1")) if body else None,
        "result": None if response.status_code != 200
        else funds_check["result"] if funds_check is not None else _json(response).get("result"),
    }
    if response.status_code == 401:
        facts["token_problem"], facts["refresh_usable"] = _token_problem(context, token, context.snapshot.now)
    return facts


def observe(request: Request, context: Any, response: Response) -> dict:
    """The facts the checks need of this exchange (``context`` is the request's ``flask.g``)."""
    route = context.route
    facts: dict[str, Any] = {"real": context.snapshot.real.timestamp()}
    if route.endpoint == "authorize":
        entry = not request.path.startswith("/sca/")  # /authorize or its portal path, not the journey's screens
        facts["kind"] = "authorize" if entry else "sca"
        if entry:
            facts.update(_authorize(request))
        callback = _callback(response)
        if callback:
            facts["callback"] = callback
    elif route.endpoint in ("token", "revoke"):
        facts["kind"] = route.endpoint
        cert, _ = client_certificate(request)
        facts["qwac"] = cert is not None
        if route.endpoint == "token":
            facts.update(_token(request, response))
    elif route.endpoint == "funds-confirmations":
        facts["kind"] = "api"
        facts.update(_api(request, context, response, request.environ.get("mock_aspsp.body")))
    elif context.get("revocation"):  # the PSU revoked the TPP's access on its dashboard
        facts["kind"] = "psu-revocation"
        facts["access_hash"] = context.get("revoked_access")
    else:
        return {}
    retry_after = response.headers.getlist("Retry-After")  # ``get`` raises and catches a KeyError when absent
    if retry_after and retry_after[0].isdigit():
        facts["retry_after"] = int(retry_after[0])
    if context.get("conformance_module"):
        facts["module"] = context.conformance_module
    return facts
