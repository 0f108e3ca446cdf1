"""The table of differences between the STET versions the bank serves.

One code path answers every version; what differs is only this table (and
each version's JSON Schema file in ``schemas/``, for the shape of the bodies).
README, "STET versions", gives the evidence for each entry.

A scenario adds each version's lifecycle (``settings.versions``, README "API version
lifecycle"): from ``deprecated_on`` the version still answers, with STET's ``Warning: 299``
and RFC 8594's ``Sunset``; from ``decommissioned_on`` it answers the 404 of an entry point the
bank does not serve. The dates are days, starting at 00:00 UTC on the mock clock.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from email.utils import format_datetime
from typing import Optional

JSON = "application/json"
HAL_JSON = "application/hal+json; charset=utf-8"


@dataclass(frozen=True)
class ApiVersion:
    prefix: str  # path segment after /stet/psd2/ (or alone, for the sandbox alias)
    stet: str  # the STET standard version it implements
    scope: str  # the OAuth2 scope a token needs for it
    error_media_type: str  # Content-Type of its error answers (ErrorModel)
    bad_request_model: str  # the schema definition its 400 answers follow
    warning_header: bool  # its document declares STET's `Warning` response header (299: deprecated entry point)

    @property
    def schema_file(self) -> str:
        return f"stet-{self.stet}.schema.json"


VERSIONS = (
    # 1.4.0.47's document declares its errors as */* (the bank behind it answered application/json).
    ApiVersion("v1", "1.4.0.47", "piisp", JSON, "ErrorModel", False),
    # A client generated from 1.4.2.17 expects only hal+json from funds-confirmations, errors included.
    ApiVersion("v1.4.2", "1.4.2.17", "cbpii", HAL_JSON, "ErrorModel", False),
    # As STET 1.5.0.43, the last document before it: hal+json errors, Error400Model, Warning.
    ApiVersion("v1.6.2", "1.6.2.0", "cbpii", HAL_JSON, "Error400Model", True),
)
SCOPES = frozenset(v.scope for v in VERSIONS)
PREFIXES = tuple(v.prefix for v in VERSIONS)  # as paths name the versions


_BY_PREFIX = {v.prefix: v for v in VERSIONS}

ACTIVE, DEPRECATED, DECOMMISSIONED = "active", "deprecated", "decommissioned"


def version_for(prefix: str) -> Optional[ApiVersion]:
    return _BY_PREFIX.get(prefix)


@dataclass(frozen=True)
class Lifecycle:
    """When a version is deprecated and when it is removed (a scenario's ``settings.versions``)."""

    deprecated_on: Optional[date] = None
    decommissioned_on: Optional[date] = None

    def state(self, now: datetime) -> str:
        today = now.astimezone(timezone.utc).date()
        if self.decommissioned_on is not None and today >= self.decommissioned_on:
            return DECOMMISSIONED
        if self.deprecated_on is not None and today >= self.deprecated_on:
            return DEPRECATED
        return ACTIVE


NO_LIFECYCLE = Lifecycle()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def lifecycle_headers(prefix: str, lifecycle: Lifecycle, now: datetime) -> dict[str, str]:
    """What every answer on a deprecated (or removed) version carries: STET's ``Warning`` with code 299
    (RFC 7234 §5.5: agent ``-``, a quoted text) and, when the removal date is set, ``Sunset`` (RFC 8594:
    an HTTP-date, the instant the version stops answering)."""
    if lifecycle.state(now) == ACTIVE:
        return {}
    end = lifecycle.decommissioned_on
    removal = "" if end is None else f", removed on {end.isoformat()}"
    headers = {"Warning": f'299 - "API version {prefix} is deprecated since {lifecycle.deprecated_on.isoformat()}'
                          f'{removal}"'}
    if end is not None:
        headers["Sunset"] = format_datetime(_midnight(end), usegmt=True)
    return headers


def removed_message(prefix: str, lifecycle: Lifecycle, serving: tuple[str, ...]) -> str:
    """The 404's message for a decommissioned version, naming the versions still served."""
    others = ", ".join(serving) or "no other version"
    return f"API version {prefix} was decommissioned on {lifecycle.decommissioned_on.isoformat()}; this bank serves {others}"
