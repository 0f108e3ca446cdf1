import pytest

from mock_aspsp.tpp.organization import (
    InvalidOrganizationIdentifier,
    OrganizationIdentifier,
    parse_organization_identifier,
)


def test_parses_the_portal_style_identifier():
    assert parse_organization_identifier("PSDFR-ACPR-12345") == OrganizationIdentifier(
        country="FR", authority="ACPR", psp_id="12345", text="PSDFR-ACPR-12345"
    )


@pytest.mark.parametrize(
    "text, country, authority, psp_id",
    [
        ("PSDES-BDE-3DFD21", "ES", "BDE", "3DFD21"),  # ETSI TS 119 495 example
        ("PSDGB-FCA-123456", "GB", "FCA", "123456"),
        ("PSDNO-FSA-a-b:c", "NO", "FSA", "a-b:c"),  # the PSP id may hold anything, hyphens too
        ("PSDDE-BAFIN-ABCDEFGH", "DE", "BAFIN", "ABCDEFGH"),
        ("PSDFR-ABCDEFGH-1", "FR", "ABCDEFGH", "1"),
    ],
)
def test_valid_identifiers(text, country, authority, psp_id):
    parsed = parse_organization_identifier(text)
    assert (parsed.country, parsed.authority, parsed.psp_id, str(parsed)) == (country, authority, psp_id, text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("FR-ACPR-12345", "must start with 'PSD'"),
        ("psdFR-ACPR-12345", "must start with 'PSD'"),
        ("PSDFR", "must have the form PSDXX-AUTHORITY-PSPID"),
        ("PSDfr-ACPR-12345", "country 'fr' after 'PSD' must be two capital letters"),
        ("PSDFRA-ACPR-12345", "country 'FRA' after 'PSD' must be two capital letters"),
        ("PSD-ACPR-12345", "country '' after 'PSD' must be two capital letters"),
        ("PSDUS-FED-12345", "country 'US' is not an EEA state or GB"),
        ("PSDEL-BOG-12345", "country 'EL' is not an EEA state or GB"),
        ("PSDFR-ACPR12345", "missing '-' between the authority and the PSP id"),
        ("PSDFR-A-12345", "authority 'A' must be 2 to 8 capital letters A-Z"),
        ("PSDFR-ABCDEFGHI-12345", "authority 'ABCDEFGHI' must be 2 to 8 capital letters A-Z"),
        ("PSDFR-acpr-12345", "authority 'acpr' must be 2 to 8 capital letters A-Z"),
        ("PSDFR-AC1R-12345", "authority 'AC1R' must be 2 to 8 capital letters A-Z"),
        ("PSDFR-ACPR-", "the PSP id after the authority is empty"),
        ("PSDFR-ACPR-12\n345", "the PSP id contains control characters"),
    ],
)
def test_each_wrong_part_is_named(text, message):
    with pytest.raises(InvalidOrganizationIdentifier) as excinfo:
        parse_organization_identifier(text)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_non_string_is_refused():
    with pytest.raises(InvalidOrganizationIdentifier, match="must be a string"):
        parse_organization_identifier(12345)


def test_identifier_is_frozen():
    parsed = parse_organization_identifier("PSDFR-ACPR-12345")
    with pytest.raises(AttributeError):
        parsed.country = "DE"
