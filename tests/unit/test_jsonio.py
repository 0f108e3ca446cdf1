"""The hot path's JSON: reads exactly what the standard library reads (numbers with a fraction or an
exponent as exact Decimals), writes JSON it reads back."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_aspsp.formats import jsonio


def stdlib_loads(data: bytes):
    def refuse(constant):
        raise ValueError(constant)
    return json.loads(data, parse_float=Decimal, parse_constant=refuse)


def as_decimals(value):
    """``value`` with each float as the Decimal of its shortest text: what reading it back gives."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [as_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: as_decimals(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("data,expected", [
    (b'{"a": [1, 2.5, "\xc3\xa9", null, true]}', {"a": [1, Decimal("2.5"), "é", None, True]}),
    (b"123456789012345678901234567890", 123456789012345678901234567890),  # orjson would make it a float
    (b'"\\ud800"', "\ud800"),  # a lone surrogate escape
    ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),  # UTF-16 with a BOM: the standard library reads it
    (b"1e400", Decimal("1e400")),  # a float would be infinity
    (b"3500.0000000000001", Decimal("3500.0000000000001")),  # a float would be 3500.0
])
def test_what_the_standard_library_accepts_is_accepted(data, expected):
    assert jsonio.loads(data) == expected


@pytest.mark.parametrize("data", [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"{not json", b"", b"\xff",
                                  b'{"a": 1', b"[1,]"])
def test_what_is_not_json_is_a_value_error(data):
    with pytest.raises(ValueError):
        jsonio.loads(data)


def test_nesting_too_deep_is_refused_not_crashed():
    with pytest.raises((ValueError, RecursionError)):
        jsonio.loads(b"[" * 100_000)


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, "é", None, True]},
    {"big": 2 ** 70},        # orjson refuses, the standard library writes it
    {"lone": "\ud800"},      # likewise
    {1: "key not a string"},  # likewise (as "1")
])
def test_dumps_writes_json_the_standard_library_reads_back(value):
    out = jsonio.dumps(value)
    assert isinstance(out, bytes)
    assert json.loads(out) == json.loads(json.dumps(value))


def test_a_non_finite_float_is_written_as_null_not_as_infinity():
    assert jsonio.dumps({"a": float("inf")}) == b'{"a":null}'


def test_dumps_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError):
        jsonio.dumps({"a": object()})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_round_trips(value):
    assert jsonio.loads(jsonio.dumps(value)) == as_decimals(value)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=40), json_values.map(lambda v: json.dumps(v).encode()),
                 st.text(alphabet='[]{}",:0123456789.eE+-tfnul aNIy\\', max_size=30).map(str.encode)))
def test_any_bytes_are_read_as_the_standard_library_reads_them(data):
    try:
        expected = stdlib_loads(data)
    except (ValueError, RecursionError) as error:
        with pytest.raises(type(error) if isinstance(error, RecursionError) else ValueError):
            jsonio.loads(data)
    else:
        assert jsonio.loads(data) == expected
