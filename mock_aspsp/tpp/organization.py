"""The PSD2 organization identifier (ETSI TS 119 495 §5.2.1), e.g. ``PSDFR-ACPR-12345``.

It is the TPP's ``client_id`` and the ``organizationIdentifier`` of its
certificates, so it is validated the same way wherever it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..formats.quoting import quoted

#: Countries whose NCAs issue PSD2 authorisations: the EU 27 (ISO 3166 codes,
#: so Greece is GR, not EL), the other EEA states, and GB (UK certificates
#: issued before and after Brexit keep the same scheme).
PSD2_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
        "GB",
    }
)

_AUTHORITY = re.compile(r"[A-Z]{2,8}")
_EXAMPLE = "PSDFR-ACPR-12345"


class InvalidOrganizationIdentifier(ValueError):
    """The text is not a PSD2 organization identifier; the message names the faulty part."""


@dataclass(frozen=True)
class OrganizationIdentifier:
    """A parsed ``PSD<country>-<authority>-<psp_id>``; ``text`` is the identifier as given."""

    country: str
    authority: str
    psp_id: str
    text: str

    def __str__(self) -> str:
        return self.text


def parse_organization_identifier(text: object) -> OrganizationIdentifier:
    """Split and check an identifier, telling exactly which part is wrong."""
    if not isinstance(text, str):
        raise InvalidOrganizationIdentifier(
            f"organization identifier must be a string like {_EXAMPLE}, not {type(text).__name__}"
        )
    if not text.startswith("PSD"):
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)} must start with 'PSD' (format PSDXX-AUTHORITY-PSPID, e.g. {_EXAMPLE})"
        )
    country, sep, rest = text[3:].partition("-")
    if not sep:
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)} must have the form PSDXX-AUTHORITY-PSPID (e.g. {_EXAMPLE})"
        )
    if len(country) != 2 or not country.isascii() or not country.isupper() or not country.isalpha():
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)}: country {quoted(country)} after 'PSD' must be two capital letters (ISO 3166)"
        )
    if country not in PSD2_COUNTRIES:
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)}: country {quoted(country)} is not an EEA state or GB"
        )
    authority, sep, psp_id = rest.partition("-")
    if not sep:
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)}: missing '-' between the authority and the PSP id (e.g. {_EXAMPLE})"
        )
    if not _AUTHORITY.fullmatch(authority):
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)}: authority {quoted(authority)} must be 2 to 8 capital letters A-Z"
        )
    if not psp_id:
        raise InvalidOrganizationIdentifier(
            f"organization identifier {quoted(text)}: the PSP id after the authority is empty"
        )
    if not psp_id.isprintable():
        raise InvalidOrganizationIdentifier(f"organization identifier {quoted(text)}: the PSP id contains control characters")
    return OrganizationIdentifier(country=country, authority=authority, psp_id=psp_id, text=text)
