"""Opening hours: local time in the hours' own timezone, holidays closed all day, a span
open from its start up to (not at) its end, 24:00 meaning the end of the day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ccaas.domain.rules.compiled import rules_from_document
from ccaas.domain.rules.hours import Calendar, overlaps
from ccaas.domain.rules.schema import HoursConfig
from ccaas.domain.values import DAYS
from tests.unit.rules_strategies import TIMEZONES, hours_configs, instants, local_ms

PROPERTY = settings(max_examples=200, deadline=None)
OFFICE = {"open": {"mon-fri": ["09:00-17:00"]}}


def calendar(hours: dict[str, Any], default_tz: str = "UTC") -> Calendar:
    return Calendar.build(HoursConfig.model_validate(hours), default_tz)


def utc_ms(*args: int) -> int:
    return local_ms("UTC", *args)


@pytest.mark.parametrize(
    ("instant", "london", "new_york"),
    [
        # summer (BST +1, EDT -4), Monday 1 July 2024
        (utc_ms(2024, 7, 1, 12, 30), True, False),  # 13:30 in London, 08:30 in New York
        (utc_ms(2024, 7, 1, 13, 0), True, True),  # New York opens at 09:00 sharp
        (utc_ms(2024, 7, 1, 12, 59, 59.999), True, False),
        (utc_ms(2024, 7, 1, 15, 59, 59.999), True, True),  # London: 16:59:59.999
        (utc_ms(2024, 7, 1, 16, 0), False, True),  # London closes at 17:00 sharp
        (utc_ms(2024, 7, 1, 21, 0), False, False),  # New York closes at 17:00 sharp
        (utc_ms(2024, 7, 1, 7, 59, 59.999), False, False),
        (utc_ms(2024, 7, 1, 8, 0), True, False),  # 09:00 in London
        # winter (GMT, EST -5), Monday 15 January 2024
        (utc_ms(2024, 1, 15, 9, 0), True, False),
        (utc_ms(2024, 1, 15, 14, 0), True, True),
        (utc_ms(2024, 1, 15, 13, 59), True, False),
        # between the two DST changes: New York already on EDT, London still on GMT
        (utc_ms(2024, 3, 11, 13, 30), True, True),  # 09:30 EDT (would be 08:30 EST)
        (utc_ms(2024, 3, 11, 8, 30), False, False),  # 08:30 GMT in London
        # Saturday: closed everywhere; Friday evening in New York is Saturday in London
        (utc_ms(2024, 7, 6, 12, 0), False, False),
        (utc_ms(2024, 7, 5, 20, 30), False, True),
    ],
)
def test_rules_hours_follow_their_own_timezone(instant: int, london: bool, new_york: bool) -> None:
    assert calendar({**OFFICE, "timezone": "Europe/London"}).is_open(instant) is london
    assert calendar({**OFFICE, "timezone": "America/New_York"}).is_open(instant) is new_york
    # hours without a timezone take the document's
    assert calendar(OFFICE, "America/New_York").is_open(instant) is new_york


def test_rules_a_queue_uses_its_hours_and_the_document_timezone() -> None:
    rules = rules_from_document(
        YAML(typ="safe", pure=True).load(
            """
            timezone: America/New_York
            hours:
              office: {open: {mon-fri: ["09:00-17:00"]}}
              london: {timezone: Europe/London, open: {mon-fri: ["09:00-17:00"]}}
            queues:
              ny: {channels: [voice], hours: office}
              uk: {channels: [voice], hours: london}
              always: {channels: [voice]}
            """
        )
    )
    instant = utc_ms(2024, 7, 1, 12, 30)
    assert rules.is_open("uk", instant)
    assert not rules.is_open("ny", instant)
    assert rules.is_open("always", instant)


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        ((2024, 12, 24, 23, 59, 59.999), True),
        ((2024, 12, 25, 0, 0), False),
        ((2024, 12, 25, 12, 0), False),
        ((2024, 12, 25, 23, 59, 59.999), False),
        ((2024, 12, 26, 0, 0), True),
    ],
)
def test_rules_a_holiday_is_closed_all_day_in_local_time(
    local: tuple[Any, ...], open_: bool
) -> None:
    hours = {
        "timezone": "America/New_York",
        "open": {"mon-sun": ["00:00-24:00"]},
        "holidays": ["2024-12-25"],
    }
    assert calendar(hours).is_open(local_ms("America/New_York", *local)) is open_


def test_rules_a_holiday_is_the_local_date_not_the_utc_date() -> None:
    hours = {
        "timezone": "America/New_York",
        "open": {"mon-sun": ["00:00-24:00"]},
        "holidays": ["2024-12-25"],
    }
    cal = calendar(hours)
    assert not cal.is_open(utc_ms(2024, 12, 26, 3, 0))  # 22:00 on the 25th in New York
    assert cal.is_open(utc_ms(2024, 12, 25, 2, 0))  # 21:00 on the 24th in New York


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        ((2024, 7, 6, 19, 59, 59.999), False),
        ((2024, 7, 6, 20, 0), True),
        ((2024, 7, 6, 23, 59, 59.999), True),  # 24:00 is the end of Saturday
        ((2024, 7, 7, 0, 0), False),  # Sunday has no hours
        ((2024, 7, 5, 23, 59), False),  # Friday has none either
    ],
)
def test_rules_a_span_may_end_at_midnight(local: tuple[Any, ...], open_: bool) -> None:
    cal = calendar({"timezone": "Europe/London", "open": {"sat": ["20:00-24:00"]}})
    assert cal.is_open(local_ms("Europe/London", *local)) is open_


def test_rules_touching_spans_leave_no_gap_and_do_not_overlap() -> None:
    hours = {"open": {"mon": ["08:00-12:00", "12:00-24:00"], "tue": ["00:00-01:00"]}}
    assert overlaps(HoursConfig.model_validate(hours)) == []
    cal = calendar(hours)
    start = utc_ms(2024, 7, 1, 8, 0)  # a Monday
    assert all(cal.is_open(start + m * 60_000) for m in range(17 * 60))
    assert not cal.is_open(start + 17 * 60 * 60_000)  # Tuesday 01:00


# --- properties -----------------------------------------------------------------------------


def _minutes(span: str) -> tuple[int, int]:
    start, end = span.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


def _days(key: str) -> list[int]:
    first, _, last = key.partition("-")
    return list(range(DAYS.index(first), DAYS.index(last or first) + 1))


def expected_open(hours: dict[str, Any], default_tz: str, instant: int) -> bool:
    """Open or not, by offset arithmetic on epoch milliseconds (not by datetime's fields)."""
    zone = ZoneInfo(hours.get("timezone") or default_tz)
    offset = zone.utcoffset(datetime.fromtimestamp(instant // 1000, UTC))
    assert offset is not None
    local = instant + int(offset.total_seconds()) * 1000
    days, in_day = divmod(local, 86_400_000)
    if (date(1970, 1, 1) + timedelta(days=days)).isoformat() in hours.get("holidays", []):
        return False
    weekday, minute = (days + 3) % 7, in_day // 60_000  # 1970-01-01 was a Thursday
    return any(
        start <= minute < end
        for key, spans in hours["open"].items()
        if weekday in _days(key)
        for start, end in map(_minutes, spans)
    )


@PROPERTY
@given(hours=hours_configs(), default_tz=st.sampled_from(TIMEZONES), instant=instants)
def test_rules_is_open_matches_the_local_wall_clock(
    hours: dict[str, Any], default_tz: str, instant: int
) -> None:
    assert calendar(hours, default_tz).is_open(instant) is expected_open(hours, default_tz, instant)


@PROPERTY
@given(hours=hours_configs(), data=st.data())
def test_rules_overlaps_finds_exactly_the_overlapping_spans(
    hours: dict[str, Any], data: st.DataObject
) -> None:
    assert overlaps(HoursConfig.model_validate(hours)) == []
    key = data.draw(st.sampled_from(sorted(hours["open"])))
    start, end = _minutes(data.draw(st.sampled_from(hours["open"][key])))
    # a span sharing at least one minute with [start, end), on a day that has it
    new_start = data.draw(st.integers(max(0, start - 120), end - 1))
    new_end = data.draw(st.integers(max(new_start, start) + 1, min(24 * 60, end + 120)))
    day = DAYS[data.draw(st.sampled_from(_days(key)))]
    span = f"{new_start // 60:02d}:{new_start % 60:02d}-{new_end // 60:02d}:{new_end % 60:02d}"
    broken = {**hours, "open": {**hours["open"], day: [*hours["open"].get(day, []), span]}}
    found = overlaps(HoursConfig.model_validate(broken))
    assert found
    assert all(f"on {day} overlaps" in message for _, message in found)
    assert any(span in message for _, message in found)
