"""The controllable clock's parsing and formatting."""
from datetime import datetime, timedelta, timezone

import pytest

from mock_aspsp.bank.clock import Clock, format_duration, isoformat, parse_duration, parse_instant


@pytest.mark.parametrize(
    "text,expected",
    [
        ("PT1H", timedelta(hours=1)),
        ("P180D", timedelta(days=180)),
        ("PT90S", timedelta(seconds=90)),
        ("PT5M", timedelta(minutes=5)),
        ("P2W", timedelta(weeks=2)),
        ("P1DT2H3M4S", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT0S", timedelta()),
        ("P1W2D", timedelta(days=9)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["P1M", "P1Y", "P", "PT", "P1DT", "1H", "PT1H ", "pt1h", "", "P-1D", "PT1.5H", "P1Y2M", None, 3600]
)
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert "ISO 8601 duration" in str(caught.value)


def test_years_and_months_refusal_says_why():
    with pytest.raises(ValueError, match="years and months are not accepted"):
        parse_duration("P1M")


@pytest.mark.parametrize(
    "delta,text",
    [
        (timedelta(hours=1), "PT1H"),
        (timedelta(days=180), "P180D"),
        (timedelta(), "PT0S"),
        (timedelta(seconds=90), "PT1M30S"),
        (timedelta(days=1, minutes=1, seconds=30), "P1DT1M30S"),
        (timedelta(days=2, hours=3), "P2DT3H"),
    ],
)
def test_format_duration(delta, text):
    assert format_duration(delta) == text
    assert parse_duration(text) == delta


def test_parse_instant():
    assert parse_instant("2026-01-31T12:00:00Z") == datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    assert parse_instant("2026-01-31T12:00:00") == datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    with_zone = parse_instant("2026-01-31T12:00:00+02:00")
    assert with_zone == datetime(2026, 1, 31, 10, tzinfo=timezone.utc)
    assert with_zone.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("text", ["tomorrow", "", "2026-13-01T00:00:00Z", None, 12])
def test_parse_instant_refuses(text):
    with pytest.raises(ValueError, match="ISO 8601 date-time"):
        parse_instant(text)


def test_isoformat_is_utc_with_z():
    instant = datetime(2026, 1, 31, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert isoformat(instant) == "2026-01-31T12:00:00Z"


def test_clock_adds_the_offset_to_real_time():
    start = datetime(2026, 1, 15, 10, tzinfo=timezone.utc)
    clock = Clock(real=lambda: start)
    assert clock.at(timedelta()) == start
    assert clock.at(timedelta(hours=1)) == start + timedelta(hours=1)
    target = datetime(2026, 7, 1, tzinfo=timezone.utc)
    assert clock.at(clock.offset_to(target)) == target
