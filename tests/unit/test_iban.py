"""IBAN shape and mod-97 check digits (ISO 13616)."""
import pytest

from mock_aspsp.bank.iban import is_valid_iban, with_check_digits


@pytest.mark.parametrize(
    "iban",
    [
        "YY13RDHN98392489481620896668799742",  # the portal's example: no real country, valid check digits
        "FR7630007000010001234560191",
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
    ],
)
def test_valid(iban):
    assert is_valid_iban(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "FR7730007000010001234560191",  # wrong check digits
        "FR7630007000010001234560192",  # wrong last digit
        "fr7630007000010001234560191",  # lower case
        "FR76 3000 7000 0100 0123 4560 191",  # spaces
        "FR76",
        "FR76" + "1" * 31,  # longer than 34
        "7630007000010001234560191FR",
        "",
        None,
        7630007000010001234560191,
    ],
)
def test_invalid(iban):
    assert not is_valid_iban(iban)


@pytest.mark.parametrize("bban", ["30007000010001234560191", "WEST12345698765432", "A", "0" * 30])
def test_with_check_digits_makes_a_valid_iban(bban):
    iban = with_check_digits("FR", bban)
    assert iban[4:] == bban and is_valid_iban(iban)


def test_with_check_digits_known_values():
    assert with_check_digits("GB", "WEST12345698765432") == "GB82WEST12345698765432"
    assert with_check_digits("DE", "370400440532013000") == "DE89370400440532013000"
