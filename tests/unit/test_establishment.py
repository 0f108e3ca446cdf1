"""The bank (establishment) code taken from the host name."""
import pytest

from mock_aspsp.bank.establishment import bank_code_from_host


@pytest.mark.parametrize(
    "host,code",
    [
        ("www.30007.oba-bad-me-live.api.89c3.com", "30007"),
        ("WWW.30007.OBA-BAD-ME-LIVE.API.89C3.COM", "30007"),
        ("www.13807.live.api.89C3.com", "13807"),
        ("30007.localhost:8080", "30007"),
        ("30007.localhost", "30007"),
        ("13807.localhost:443", "13807"),
        ("localhost", None),
        ("localhost:8080", None),
        ("localhost:30007", None),  # a port is not a bank code
        ("127.0.0.1:8080", None),
        ("[::1]", None),
        ("[::1]:8080", None),
        ("[2001:db8::30007]:8080", None),
        ("300071.localhost", None),  # six digits
        ("3000.localhost", None),  # four digits
        ("", None),
    ],
)
def test_bank_code_from_host(host, code):
    assert bank_code_from_host(host) == code
