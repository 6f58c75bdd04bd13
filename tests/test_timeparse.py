"""Durations and timestamps as written in operational records."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook.timeparse import find_timestamp, parse_duration, parse_timestamp, to_utc_naive


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45.0),
        ("2m 30s", 150.0),
        ("2m30s", 150.0),
        ("1.5 minutes", 90.0),
        ("00:02:30", 150.0),
        ("02:30", 150.0),
        ("1h 5m", 3900.0),
        ("~3 min", 180.0),
        ("350ms", 0.35),
        ("4 minutes 10 seconds", 250.0),
        ("2 mins and 5 secs", 125.0),
        ("3m, 20s", 200.0),
        ("about 2-3 minutes", 150.0),
        ("PT2M30S", 150.0),
        ("**12s**", 12.0),
        ("45", 45.0),
        ("12 seconds (incl. retries)", 12.0),
        ("1h5m30s", 3930.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "n/a", "unknown", "fast", "—"])
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None


D = date(2025, 12, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-23T14:30:52Z", datetime(2025, 12, 23, 14, 30, 52)),
        ("2025-12-23T14:30:52.250+02:00", datetime(2025, 12, 23, 12, 30, 52, 250000)),
        ("2025-12-23T14:30:52-0500", datetime(2025, 12, 23, 19, 30, 52)),
        ("2025-12-23 14:30:52", datetime(2025, 12, 23, 14, 30, 52)),
        ("2025-12-23 14:30:52,123", datetime(2025, 12, 23, 14, 30, 52, 123000)),
        ("14:30:52", datetime(2025, 12, 23, 14, 30, 52)),
        ("2:30 PM", datetime(2025, 12, 23, 14, 30)),
        ("1766500252", datetime(2025, 12, 23, 14, 30, 52)),
        ("1766500252000", datetime(2025, 12, 23, 14, 30, 52)),
        ("Dec 23 14:30:52", datetime(2025, 12, 23, 14, 30, 52)),
        ("23/Dec/2025:14:30:52 +0000", datetime(2025, 12, 23, 14, 30, 52)),
        ("2025-12-23", datetime(2025, 12, 23)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text, D) == expected


def test_bare_time_needs_a_date() -> None:
    assert parse_timestamp("14:30:52") is None
    assert parse_timestamp("2025-13-40 10:00") is None
    assert parse_timestamp("25:61") is None


def test_to_utc_naive() -> None:
    aware = datetime(2025, 12, 23, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert to_utc_naive(aware) == datetime(2025, 12, 23, 14, 0)
    naive = datetime(2025, 12, 23, 9, 0)
    assert to_utc_naive(naive) is naive


@pytest.mark.parametrize(
    ("line", "clock", "rest"),
    [
        ("14:30:52 deploy started", time(14, 30, 52), "deploy started"),
        ("- **14:31** — error", time(14, 31), "error"),
        ("[14:30:52] pods ready", time(14, 30, 52), "pods ready"),
        ("1. 14:30 - build", time(14, 30), "build"),
        ("* 10:00am start", time(10, 0), "start"),
        ("14:30:52: done", time(14, 30, 52), "done"),
    ],
)
def test_find_timestamp_clock(line: str, clock: time, rest: str) -> None:
    found = find_timestamp(line)
    assert found is not None
    stamp, text = found
    assert stamp.day is None and stamp.clock == clock and text == rest
    assert stamp.resolve(D) == datetime.combine(D, clock)


def test_find_timestamp_full_and_date_only() -> None:
    found = find_timestamp("2025-12-23T14:30:52Z ERROR lambda timed out")
    assert found is not None
    assert found[0].resolve() == datetime(2025, 12, 23, 14, 30, 52)
    assert found[1] == "ERROR lambda timed out"
    heading = find_timestamp("2025-03-02 deploy of api")
    assert heading is not None and heading[0].has_time is False
    assert heading[1] == "deploy of api"


@pytest.mark.parametrize("line", ["no time here", "version 1.2.3", "ratio 3:1 ok", ""])
def test_find_timestamp_none(line: str) -> None:
    assert find_timestamp(line) is None


@given(st.text(max_size=80))
def test_never_raise(text: str) -> None:
    parse_duration(text)
    parse_timestamp(text, D)
    find_timestamp(text)
