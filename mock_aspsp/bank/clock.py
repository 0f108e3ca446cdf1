"""The mock's controllable clock.

Every expiry rule (codes, tokens, the 180-day re-authentication, SCA screen
time-outs, certificate validity) asks this clock, never the system clock, so
tests and QA can move time instead of waiting. Mock time is real UTC time plus
an offset kept in the store, which makes a time jump visible to every worker.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+(?:\.[0-9]+)?)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """ISO 8601 duration limited to exact units (W, D, H, M, S).

    Years and months are refused because their length is ambiguous and a
    token lifetime must mean one thing.
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration such as PT1H, P180D or PT90S "
            "(years and months are not accepted: give days)"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def format_duration(delta: timedelta) -> str:
    """Inverse of parse_duration, for showing settings back to users."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "" if days else "T0S")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date-time; a value without zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2026-01-31T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def isoformat(instant: datetime) -> str:
    """UTC, second precision, with a Z: the form STET's examples use."""
    return _utc_second(math.floor(instant.timestamp()))


@lru_cache(maxsize=16)  # every journal entry and error names its second: a few distinct ones at a time
def _utc_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def real_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Clock:
    """Mock time = ``real()`` + the shared offset; tests pass a fixed ``real``."""

    real: Callable[[], datetime] = real_now

    def at(self, offset: timedelta) -> datetime:
        return self.real() + offset

    def offset_to(self, instant: datetime) -> timedelta:
        """The offset that makes mock time equal ``instant`` now."""
        return instant - self.real()
