"""Business hours: whether a queue is open at an instant, in its own timezone, holidays closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..values import DAYS
from .schema import HoursConfig, day_names, span_minutes


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; ValueError in an admin's words when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like 'Europe/Madrid')"
        ) from exc


def local_time(now_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(tz)


def overlaps(hours: HoursConfig) -> list[tuple[str, str]]:
    """(day entry, message) for every span that overlaps another span of the same day."""
    found: list[tuple[str, str]] = []
    spans_by_day: dict[str, list[tuple[int, int, str, str]]] = {}
    for key, spans in hours.open.items():
        for span in spans:
            start, end = span_minutes(span)
            for day in day_names(key):
                for other_start, other_end, other_span, other_key in spans_by_day.get(day, []):
                    if start < other_end and other_start < end:
                        found.append(
                            (
                                key,
                                f"{span} on {day} overlaps {other_span}"
                                + (f" (from {other_key})" if other_key != key else ""),
                            )
                        )
                spans_by_day.setdefault(day, []).append((start, end, span, key))
    return found


@dataclass(frozen=True, slots=True)
class Calendar:
    """Weekly opening spans (minutes from midnight) in one timezone, minus holidays."""

    tz: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]  # index 0 = Monday
    holidays: frozenset[str]

    @classmethod
    def build(cls, hours: HoursConfig, default_tz: str) -> Calendar:
        week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for key, spans in hours.open.items():
            for day in day_names(key):
                week[DAYS.index(day)].extend(span_minutes(span) for span in spans)
        return cls(
            zone(hours.timezone or default_tz),
            tuple(tuple(sorted(day)) for day in week),
            frozenset(hours.holidays),
        )

    def is_open(self, now_ms: int) -> bool:
        local = local_time(now_ms, self.tz)
        if local.date().isoformat() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])
