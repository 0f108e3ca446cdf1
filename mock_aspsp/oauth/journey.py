"""The PSU's journey through the bank's pages, as plain data and rules.

identify (PSU id + password) -> authenticate (one-time code) -> consent
(choose the account, approve or refuse) -> done. Each screen has its own
time-out, measured on the mock's clock from the moment the screen was shown.

The PSU signing in to its access dashboard (``/espace-client/acces``) goes
through the same first two screens, by the same rules: a journey whose
``purpose`` is ``DASHBOARD`` ends after the one-time code, in a session of the
PSU's (``signin``), and has no TPP (its client_id, redirect_uri, scope and
state are empty).
"""
from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..bank.scenario import ScaSettings

STEPS = ("identify", "authenticate", "consent")
CONSENT, DASHBOARD = "consent", "dashboard"  # what a journey is for: a TPP's consent, or the PSU's sign-in
SCREENS_OF = {CONSENT: 3, DASHBOARD: 2}  # how many screens a journey of each purpose shows
SCREEN_NAMES = {
    "identify": "identification",
    "authenticate": "strong authentication",
    "consent": "consent",
}


@dataclass(frozen=True)
class Journey:
    id: str
    bank: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    csrf: str
    browser: str  # hash of the cookie that binds the journey to one browser
    step: str
    step_started_at: float
    psu: Optional[str] = None
    attempts: int = 0
    authenticated_at: Optional[float] = None
    code_challenge: Optional[str] = None  # PKCE (RFC 7636), bound to the code this journey issues
    code_challenge_method: Optional[str] = None
    purpose: str = CONSENT

    def to_dict(self) -> dict:
        return asdict(self)

    def at_step(self, step: str, now: datetime, **changes: object) -> "Journey":
        return replace(self, step=step, step_started_at=now.timestamp(), **changes)

    def authenticated(self) -> datetime:
        return datetime.fromtimestamp(self.authenticated_at or 0, timezone.utc)


def screen_timeout(settings: ScaSettings, step: str) -> timedelta:
    return {
        "identify": settings.identification_timeout,
        "authenticate": settings.authentication_timeout,
        "consent": settings.consent_timeout,
    }[step]


def timed_out(journey: Journey, settings: ScaSettings, now: datetime) -> bool:
    started = datetime.fromtimestamp(journey.step_started_at, timezone.utc)
    return journey.step in STEPS and now - started > screen_timeout(settings, journey.step)


def same_secret(given: Optional[str], expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def redirect_to(redirect_uri: str, params: dict) -> str:
    """The registered URI with ``params`` added to its own query (RFC 6749 §3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_params(journey: Journey, error: str, description: str) -> dict:
    return {"error": error, "error_description": description, "state": journey.state}


def timeout_params(journey: Journey, settings: ScaSettings) -> dict:
    return error_params(
        journey, settings.timeout_error, f"time-out on the {SCREEN_NAMES[journey.step]} screen"
    )
