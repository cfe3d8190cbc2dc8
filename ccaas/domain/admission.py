"""Admission control for arrivals: a bounded in-flight window and a rate-limited refusal tally."""

from __future__ import annotations


class AdmissionWindow:
    """At most `limit` units of work under way at once; a unit beyond it is refused, not queued.

    Acquiring never waits: the caller refuses the work itself (HTTP answers 429, an MQTT
    adapter stops reading), so nothing piles up in the process. Not thread-safe: one event
    loop owns it.
    """

    __slots__ = ("_in_flight", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"an admission window holds at least 1, not {limit}")
        self.limit = limit
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def try_acquire(self) -> bool:
        """Take a place if one is free; False (and nothing changed) when the window is full."""
        if self._in_flight >= self.limit:
            return False
        self._in_flight += 1
        return True

    def release(self) -> None:
        """Give back a place taken by a successful try_acquire."""
        if self._in_flight == 0:
            raise RuntimeError("released more places than were acquired")
        self._in_flight -= 1


class RefusalTally:
    """Counts refusals and says when to report them: at most once every `every` seconds, with
    how many were refused since the previous report (this one included)."""

    __slots__ = ("_last_report", "_pending", "every")

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._pending = 0
        self._last_report: float | None = None

    def refused(self, now: float) -> int | None:
        """Count one refusal at `now` (seconds); the count to report if one is due. A clock
        set back is a report due, so that it cannot silence the reports until it catches up."""
        self._pending += 1
        if self._last_report is not None and 0 <= now - self._last_report < self.every:
            return None
        count, self._pending, self._last_report = self._pending, 0, now
        return count
