"""The portal's journey end to end through the Flask test client, in every version."""
import pytest

from mock_aspsp.formats.validation import schema_set
from mock_aspsp.stet.versions import VERSIONS as TABLE
from support import portal_body

VERSIONS = [(version.prefix, version.scope, version.stet) for version in TABLE]


@pytest.mark.parametrize("version,scope,stet", VERSIONS)
@pytest.mark.parametrize("prefix", ["/stet/psd2", ""])
def test_portal_example_is_answered_in_every_version(tpp, version, scope, stet, prefix):
    tokens = tpp.tokens(scope=scope)
    response = tpp.confirm(tokens["access_token"], version=version, prefix=prefix)
    assert response.status_code == 200
    assert response.content_type == "application/hal+json; charset=utf-8"
    body = response.get_json()
    assert body == {
        "request": portal_body(),
        "result": True,
        "_links": {"self": {"href": f"{prefix}/{version}/funds-confirmations".lstrip("/")}},
    }
    assert schema_set(f"stet-{stet}.schema.json").problem("HalPaymentCoverageReport", body) is None
    assert response.headers["X-Request-ID"] == "req-1"


def test_unfunded_amount_answers_false(tpp):
    access = tpp.tokens()["access_token"]
    response = tpp.confirm(access, portal_body(amount="50000"))
    assert response.status_code == 200
    assert response.get_json()["result"] is False


def test_overdraft_counts_and_nothing_is_debited(tpp):
    iban = "FR7630007000010001234560191"  # balance 120.50, overdraft 300
    access = tpp.tokens(iban=iban)["access_token"]
    for _ in range(3):
        assert tpp.confirm(access, portal_body(amount="420.50", iban=iban)).get_json()["result"] is True
    assert tpp.confirm(access, portal_body(amount="420.51", iban=iban)).get_json()["result"] is False


def test_code_and_state_come_back_to_the_registered_uri(tpp):
    params = tpp.journey(state="abc 123/é")
    assert params["state"] == "abc 123/é"
    assert params["code"]
