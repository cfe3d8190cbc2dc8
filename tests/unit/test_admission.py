"""The admission window admits at most its limit without waiting; refusals are reported at most
once a second with how many there were."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccaas.domain.admission import AdmissionWindow, RefusalTally


def test_the_window_admits_up_to_its_limit_and_refuses_the_next() -> None:
    window = AdmissionWindow(2)
    assert [window.try_acquire() for _ in range(3)] == [True, True, False]
    assert window.in_flight == 2
    window.release()
    assert window.try_acquire()
    assert not window.try_acquire()


def test_a_window_below_one_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AdmissionWindow(0)


def test_a_release_without_an_acquire_is_an_error() -> None:
    window = AdmissionWindow(1)
    with pytest.raises(RuntimeError):
        window.release()
    assert window.in_flight == 0


@given(st.integers(1, 8), st.lists(st.booleans(), max_size=200))
def test_in_flight_never_exceeds_the_limit(limit: int, steps: list[bool]) -> None:
    """Each step acquires (True) or releases the oldest admitted unit (False), as callers
    do; the window's count is always the number admitted and not yet released."""
    window, held = AdmissionWindow(limit), 0
    for acquire in steps:
        if acquire:
            before = window.in_flight
            if window.try_acquire():
                held += 1
            else:  # a refusal changes nothing, and only a full window refuses
                assert window.in_flight == before == limit
        elif held:
            window.release()
            held -= 1
        assert window.in_flight == held <= limit
    for _ in range(held):  # every admitted unit is released once, and then it is empty
        window.release()
    assert window.in_flight == 0
    assert [window.try_acquire() for _ in range(limit + 1)] == [True] * limit + [False]


def test_the_first_refusal_is_reported_then_one_report_a_second() -> None:
    tally = RefusalTally(every=1.0)
    assert tally.refused(10.0) == 1
    assert [tally.refused(t) for t in (10.2, 10.5, 10.99)] == [None, None, None]
    assert tally.refused(11.0) == 4  # the three held back and this one
    assert tally.refused(30.0) == 1


def test_a_clock_set_back_does_not_silence_the_reports() -> None:
    tally = RefusalTally(every=1.0)
    assert tally.refused(3600.0) == 1
    assert tally.refused(5.0) == 1  # not held back for the hour until the clock catches up
    assert tally.refused(5.5) is None


@given(st.lists(st.floats(0, 5, allow_nan=False), max_size=100))
def test_reports_are_a_second_apart_and_count_every_refusal(gaps: list[float]) -> None:
    tally, now, reports, pending = RefusalTally(every=1.0), 0.0, [], 0
    for gap in gaps:
        now += gap
        pending += 1
        if (count := tally.refused(now)) is not None:
            reports.append(now)
            assert count == pending
            pending = 0
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(reports))
    assert bool(gaps) == bool(reports)
