"""IBAN rules (ISO 13616): shape and mod-97 check digits.

Used to refuse bad scenario data and to generate valid bulk accounts; the
portal's own example ``YY13RDHN98392489481620896668799742`` passes the check
although ``YY`` is no country, so the country is not checked.
"""
import re
import string

IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")  # whole text: fullmatch, never match + $
_LETTERS_AS_DIGITS = str.maketrans({letter: str(10 + n) for n, letter in enumerate(string.ascii_uppercase)})


def _as_number(text: str) -> int:
    """ISO 13616 / ISO 7064: A=10 ... Z=35, digits unchanged."""
    return int(text.translate(_LETTERS_AS_DIGITS))


def is_valid_iban(iban: str) -> bool:
    if not isinstance(iban, str) or not IBAN_SHAPE.fullmatch(iban):
        return False
    return _as_number(iban[4:] + iban[:4]) % 97 == 1


def with_check_digits(country: str, bban: str) -> str:
    """Build the IBAN whose check digits make ``country + bban`` valid."""
    check = 98 - _as_number(bban + country + "00") % 97
    return f"{country}{check:02d}{bban}"
