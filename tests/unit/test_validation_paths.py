"""The compiled fast path must accept exactly what jsonschema accepts, in every version."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_aspsp.formats.validation import jsonschema_validator, schema_set
from mock_aspsp.stet.versions import VERSIONS

DEFINITION = "PaymentCoverageRequestResource"
text = st.one_of(st.text(max_size=40), st.sampled_from(["EUR", "eur", "12,5", "12.5", "-1", "1e3", "FR7630007000010001234560191",
                                                        "FR76 bad", "x" * 35, "x" * 36, "١٢٣"]))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15), st.floats(allow_nan=False), text)
amount = st.fixed_dictionaries({}, optional={"currency": st.one_of(text, scalar), "amount": st.one_of(text, scalar)})
account = st.fixed_dictionaries({}, optional={"iban": st.one_of(text, scalar), "currency": text,
                                              "other": st.dictionaries(text, scalar, max_size=3)})
body = st.fixed_dictionaries({}, optional={
    "paymentCoverageRequestId": st.one_of(text, scalar), "payee": st.one_of(text, scalar),
    "instructedAmount": st.one_of(amount, scalar), "accountId": st.one_of(account, scalar)})


def agree(schemas, instance):
    jsonschema_says = jsonschema_validator(schemas.filename, DEFINITION).is_valid(instance)
    assert (schemas.problem(DEFINITION, instance) is None) == jsonschema_says


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.stet)
@settings(max_examples=300, deadline=None, derandomize=True)
@given(instance=st.one_of(body, scalar))
def test_fast_path_and_jsonschema_agree(version, instance):
    agree(schema_set(version.schema_file), instance)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.stet)
def test_both_paths_accept_the_portal_example_and_name_the_field_when_not(version):
    schemas = schema_set(version.schema_file)
    good = {"paymentCoverageRequestId": "MyCoverage123456",
            "instructedAmount": {"currency": "EUR", "amount": "12345"},
            "accountId": {"iban": "YY13RDHN98392489481620896668799742"}}
    agree(schemas, good)
    assert schemas.problem(DEFINITION, good) is None
    bad = {**good, "instructedAmount": {"currency": "EUR", "amount": "12,5"}}
    assert schemas.problem(DEFINITION, bad).startswith("instructedAmount.amount:")
