"""PKCE, Proof Key for Code Exchange (RFC 7636), as plain rules.

The TPP sends ``code_challenge`` (and ``code_challenge_method``) to ``/authorize``;
the code the bank issues is bound to it, and ``/token`` gives tokens for that code
only with the ``code_verifier`` it was derived from. RFC 9700 §2.1.1 asks that a
downgrade be prevented: a verifier sent for a code issued without a challenge is
refused, so stripping the challenge from the request gains nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Optional

S256, PLAIN = "S256", "plain"
# RFC 7636 §4.1 and §4.2: 43 to 128 unreserved characters (RFC 3986 §2.3); an S256 challenge is the
# base64url SHA-256 of the verifier without padding, 43 characters.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def challenge_problem(challenge: Optional[str], method: Optional[str], methods: tuple[str, ...],
                      required: bool) -> Optional[str]:
    """Why /authorize refuses these PKCE parameters (an ``invalid_request``, RFC 7636 §4.4.1), or None."""
    if challenge is None:
        if method is not None:
            return "code_challenge_method was sent without a code_challenge"
        if required:
            return f"code_challenge is required (PKCE, RFC 7636): send code_challenge and code_challenge_method={S256}"
        return None
    if method is None and PLAIN not in methods:
        return (f"code_challenge_method is missing, so it is plain (RFC 7636 §4.3), which this bank does not "
                f"accept: send code_challenge_method={S256}")
    method = method or PLAIN
    if method not in methods:
        return f"code_challenge_method {method[:20]!r} is not supported; use {' or '.join(methods)}"
    if method == S256 and not S256_CHALLENGE.fullmatch(challenge):
        return "an S256 code_challenge is the 43-character base64url SHA-256 of the verifier, without padding"
    if method == PLAIN and not VERIFIER.fullmatch(challenge):
        return "a plain code_challenge is the verifier itself: 43 to 128 characters A-Z a-z 0-9 - . _ ~"
    return None


def verifier_problem(challenge: Optional[str], method: Optional[str], verifier: Optional[str]) -> Optional[str]:
    """Why /token refuses this code_verifier for a code (an ``invalid_grant``, RFC 7636 §4.6), or None."""
    if challenge is None:
        if verifier is not None:
            return "a code_verifier was sent for a code issued without a code_challenge"
        return None
    if verifier is None:
        return "the code was issued with a code_challenge: the code_verifier parameter is required"
    if not VERIFIER.fullmatch(verifier):
        return "code_verifier must be 43 to 128 characters A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)"
    derived = s256(verifier) if method == S256 else verifier
    if not hmac.compare_digest(derived.encode(), challenge.encode()):
        return "code_verifier does not match the code_challenge sent to /authorize"
    return None
