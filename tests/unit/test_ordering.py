"""Waiting order: priority with aging (one point = aging_seconds_per_priority s of waiting)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, WaitingContact
from ccaas.domain.ordering import order_key, order_score
from ccaas.domain.rules.classify import classify
from ccaas.domain.rules.compiled import compile_rules
from ccaas.domain.values import MAX_PRIORITY, MIN_PRIORITY
from tests.helpers import TEST_CONFIG
from tests.unit.builders import NOW, SECOND, contact

PROPERTY = settings(max_examples=300, deadline=None)

priorities = st.integers(min_value=MIN_PRIORITY, max_value=MAX_PRIORITY)
arrivals = st.integers(min_value=NOW - 86_400 * SECOND, max_value=NOW + 86_400 * SECOND)
# Multiples of 0.5 s keep priority * aging * 1000 exact in floating point.
agings = st.integers(min_value=1, max_value=120).map(lambda n: n / 2)


def waiting(id: str, priority: int, first_ms: int, aging: float) -> WaitingContact:
    return WaitingContact(
        id=id,
        queue="billing",
        channel=Channel.CHAT,
        skills={},
        priority=priority,
        first_enqueued_ms=first_ms,
        score=order_score(priority, first_ms, aging),
    )


@pytest.mark.parametrize(
    ("priority", "first_ms", "aging", "expected"),
    [
        pytest.param(0, NOW, 10, NOW, id="priority 0 scores its arrival time"),
        pytest.param(1, NOW, 10, NOW - 10_000, id="one point = 10 s earlier"),
        pytest.param(3, NOW, 10, NOW - 30_000, id="three points = 30 s earlier"),
        pytest.param(-2, NOW, 10, NOW + 20_000, id="negative priority ranks later"),
        pytest.param(2, NOW, 2.5, NOW - 5_000, id="fractional aging"),
        pytest.param(7, NOW, 0, NOW, id="aging 0 ignores priority: plain FIFO"),
        pytest.param(MAX_PRIORITY, NOW, 10, NOW - 1_000_000, id="max priority = 1000 s"),
    ],
)
def test_order_score_formula(priority: int, first_ms: int, aging: float, expected: float) -> None:
    assert order_score(priority, first_ms, aging) == expected


@PROPERTY
@given(priority=priorities, first_ms=arrivals, aging=agings)
def test_priority_is_equivalent_to_earlier_arrival(
    priority: int, first_ms: int, aging: float
) -> None:
    """Priority p arriving at t ranks exactly like priority 0 arriving p * aging s earlier."""
    earlier = first_ms - int(priority * aging * SECOND)
    assert order_score(priority, first_ms, aging) == order_score(0, earlier, aging)


@pytest.mark.parametrize(
    ("later_by_s", "first"),
    [
        pytest.param(0, "vip", id="same time: priority wins"),
        pytest.param(19, "vip", id="inside the 20 s head start: vip overtakes"),
        pytest.param(19.999, "vip", id="just inside the head start"),
        pytest.param(20.001, "early", id="just outside the head start"),
        pytest.param(21, "early", id="outside the head start: no overtaking"),
        pytest.param(3600, "early", id="an hour later: no overtaking"),
    ],
)
def test_higher_priority_later_arrival_overtakes_only_by_its_head_start(
    later_by_s: float, first: str
) -> None:
    # TEST_CONFIG: 10 s per priority point; priority 2 vs 0 = 20 s head start.
    early = contact("early", priority=0, waited_s=later_by_s)
    vip = contact("vip", priority=2, waited_s=0)
    assert min([early, vip], key=order_key).id == first


def test_exact_head_start_is_a_tie_broken_by_id() -> None:
    early = contact("b-early", priority=0, waited_s=20)
    vip = contact("a-vip", priority=2, waited_s=0)
    assert early.score == vip.score
    assert [c.id for c in sorted([early, vip], key=order_key)] == ["a-vip", "b-early"]


@PROPERTY
@given(
    pa=priorities,
    pb=priorities,
    ta=arrivals,
    later_ms=st.integers(min_value=1, max_value=3 * 86_400 * SECOND),
    aging=agings,
)
def test_later_arrival_goes_first_only_within_bounded_head_start(
    pa: int, pb: int, ta: int, later_ms: int, aging: float
) -> None:
    """A later arrival B overtakes A iff it arrived less than (pb - pa) * aging s after A."""
    a = waiting("a", pa, ta, aging)
    b = waiting("b", pb, ta + later_ms, aging)
    head_start_ms = (pb - pa) * aging * SECOND
    # On an exact tie the ids decide, and "a" < "b" keeps A first.
    assert (order_key(b) < order_key(a)) == (later_ms < head_start_ms)


@PROPERTY
@given(
    pa=priorities,
    pb=priorities,
    ta=arrivals,
    extra_ms=st.integers(min_value=1, max_value=86_400 * SECOND),
    aging=agings,
    ids=st.lists(st.text(min_size=1, max_size=4), min_size=2, max_size=2, unique=True),
)
def test_no_starvation_every_contact_eventually_beats_later_arrivals(
    pa: int, pb: int, ta: int, extra_ms: int, aging: float, ids: list[str]
) -> None:
    """Once A has waited (MAX_PRIORITY - pa) * aging s, nobody arriving later can pass it,
    whatever their priority or id."""
    horizon_ms = int((MAX_PRIORITY - pa) * aging * SECOND)
    a = waiting(ids[0], pa, ta, aging)
    b = waiting(ids[1], pb, ta + horizon_ms + extra_ms, aging)
    assert order_key(a) < order_key(b)


@PROPERTY
@given(
    contacts=st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 60)), min_size=1, max_size=20),
    aging=agings,
)
def test_waiting_order_is_a_total_order_on_score_then_id(
    contacts: list[tuple[int, int]], aging: float
) -> None:
    """Sorting by order_key is the same as Redis's sorted-set order: score, then member."""
    values = [
        waiting(f"c{i}", priority, NOW - waited * SECOND, aging)
        for i, (priority, waited) in enumerate(contacts)
    ]
    ordered = sorted(values, key=order_key)
    assert ordered == sorted(values, key=lambda c: (c.score, c.id))
    for before, after in itertools.pairwise(ordered):
        assert before.score < after.score or (before.score == after.score and before.id < after.id)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["c2", "c1", "c3"], ["c1", "c2", "c3"]),
        (["c9", "c10"], ["c10", "c9"]),  # member order is by string, like Redis
        (["B", "a"], ["B", "a"]),  # byte order: upper case first
    ],
)
def test_equal_scores_are_ordered_by_id(ids: list[str], expected: list[str]) -> None:
    tied = [contact(i, priority=1, waited_s=5) for i in ids]
    assert [c.id for c in sorted(tied, key=order_key)] == expected


def test_id_never_overrides_a_better_score() -> None:
    z = contact("zzz", waited_s=10)
    a = contact("aaa", waited_s=9.999)
    assert [c.id for c in sorted([a, z], key=order_key)] == ["zzz", "aaa"]


@pytest.mark.parametrize(
    ("priority", "expected"),
    [(0, NOW), (3, NOW - 30_000), (-1, NOW + 10_000)],
)
def test_new_contact_enters_with_the_aged_score(priority: int, expected: float) -> None:
    new = NewContact(channel=Channel.CHAT, external_id="x", queue="billing", priority=priority)
    where = classify(new, compile_rules(TEST_CONFIG), NOW)
    assert order_score(where.priority, NOW, TEST_CONFIG.aging_seconds_per_priority) == expected
