"""The table of differences between the STET versions the bank serves.

One code path answers every version; what differs is only this table (and
each version's JSON Schema file in ``schemas/``).
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ApiVersion:
    prefix: str  # path segment after /stet/psd2/ (or alone, for the sandbox alias)
    stet: str  # the STET standard version it implements
    scope: str  # the OAuth2 scope a token needs for it

    @property
    def schema_file(self) -> str:
        return f"stet-{self.stet}.schema.json"


VERSIONS = (
    ApiVersion("v1", "1.4.0.47", "piisp"),
    ApiVersion("v1.4.2", "1.4.2.17", "cbpii"),
    ApiVersion("v1.6.2", "1.6.2.0", "cbpii"),
)
SCOPES = frozenset(v.scope for v in VERSIONS)
PREFIXES = tuple(v.prefix for v in VERSIONS)  # as paths name the versions


_BY_PREFIX = {v.prefix: v for v in VERSIONS}


def version_for(prefix: str) -> Optional[ApiVersion]:
    return _BY_PREFIX.get(prefix)
