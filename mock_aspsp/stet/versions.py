"""The table of differences between the STET versions the bank serves.

One code path answers every version; what differs is only this table (and
each version's JSON Schema file in ``schemas/``, for the shape of the bodies).
README, "STET versions", gives the evidence for each entry.
"""
from dataclasses import dataclass
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


def version_for(prefix: str) -> Optional[ApiVersion]:
    return _BY_PREFIX.get(prefix)
