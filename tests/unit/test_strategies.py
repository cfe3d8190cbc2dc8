"""Which agent a queue's strategy prefers for a contact (the smallest rank key wins)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.models import AgentView, Strategy
from ccaas.domain.strategies import rank_key
from tests.unit.builders import NOW, SECOND, agent, agent_views, contact


def ranking(strategy: Strategy, agents: list[AgentView], **contact_kw: object) -> list[str]:
    c = contact(**contact_kw)
    return [a.id for a in sorted(agents, key=lambda a: rank_key(strategy, a, c.queue, c.skills))]


def idle(id: str, seconds: int, **kw: object) -> AgentView:
    """An agent idle for `seconds` before NOW."""
    return agent(id, idle_since_ms=NOW - seconds * SECOND, **kw)


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        pytest.param(
            [idle("a", 10), idle("b", 300), idle("c", 60)], ["b", "c", "a"], id="longest first"
        ),
        pytest.param([idle("b", 60), idle("a", 60), idle("c", 5)], ["a", "b", "c"], id="tie on id"),
        pytest.param(
            [idle("x", 1, work={"chat": 2}, skills={"fr": 9}), idle("y", 2)],
            ["y", "x"],
            id="ignores work and skills",
        ),
    ],
)
def test_longest_idle_picks_smallest_idle_since(
    agents: list[AgentView], expected: list[str]
) -> None:
    assert ranking(Strategy.LONGEST_IDLE, agents) == expected


@pytest.mark.parametrize(
    ("agents", "required", "expected"),
    [
        pytest.param(
            [idle("a", 100, skills={"fr": 3}), idle("b", 1, skills={"fr": 8})],
            {"fr": 2},
            ["b", "a"],
            id="higher level beats longer idle",
        ),
        pytest.param(
            [
                idle("a", 1, skills={"fr": 5, "en": 5}),
                idle("b", 1, skills={"fr": 9, "en": 2}),
                idle("c", 1, skills={"fr": 6, "en": 3}),
            ],
            {"fr": 1, "en": 1},
            ["b", "a", "c"],
            id="sum over required skills",
        ),
        pytest.param(
            [idle("a", 1, skills={"fr": 5, "tech": 10}), idle("b", 1, skills={"fr": 6})],
            {"fr": 1},
            ["b", "a"],
            id="skills not required do not count",
        ),
        pytest.param(
            [idle("a", 1, skills={"fr": 6}), idle("b", 50, skills={"fr": 6})],
            {"fr": 1},
            ["b", "a"],
            id="equal sum: longest idle",
        ),
        pytest.param(
            [idle("b", 7, skills={"fr": 6}), idle("a", 7, skills={"fr": 6})],
            {"fr": 1},
            ["a", "b"],
            id="equal sum and idle: id",
        ),
        pytest.param(
            [idle("a", 1, skills={"fr": 9}), idle("b", 20, skills={"en": 1})],
            {},
            ["b", "a"],
            id="no skills required: longest idle",
        ),
    ],
)
def test_most_skilled_highest_level_sum_then_longest_idle(
    agents: list[AgentView], required: dict[str, int], expected: list[str]
) -> None:
    assert ranking(Strategy.MOST_SKILLED, agents, skills=required) == expected


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        pytest.param(
            [idle("a", 100, work={"chat": 2}), idle("b", 1, work={"chat": 1})],
            ["b", "a"],
            id="fewer held beats longer idle",
        ),
        pytest.param(
            [
                idle("a", 1, work={"chat": 1, "email": 1}),
                idle("b", 1, work={"chat": 2}),
                idle("c", 1, work={"social": 1}),
            ],
            ["c", "a", "b"],
            id="counts all channels",
        ),
        pytest.param(
            [idle("a", 1), idle("b", 30), idle("c", 1, work={"email": 0})],
            ["b", "a", "c"],
            id="equal load: longest idle, then id",
        ),
    ],
)
def test_least_occupied_fewest_held_then_longest_idle(
    agents: list[AgentView], expected: list[str]
) -> None:
    assert ranking(Strategy.LEAST_OCCUPIED, agents) == expected


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        pytest.param(
            [
                idle("a", 100, last_offer_ms={"sales": NOW - 5 * SECOND}),
                idle("b", 1, last_offer_ms={"sales": NOW - 50 * SECOND}),
            ],
            ["b", "a"],
            id="oldest last offer beats longer idle",
        ),
        pytest.param(
            [idle("a", 1, last_offer_ms={"sales": NOW - 5 * SECOND}), idle("b", 1)],
            ["b", "a"],
            id="never offered from the queue goes first",
        ),
        pytest.param(
            [
                idle("a", 1, last_offer_ms={"sales": NOW - 60 * SECOND, "billing": NOW}),
                idle("b", 1, last_offer_ms={"sales": NOW - 5 * SECOND, "billing": 0}),
            ],
            ["a", "b"],
            id="only offers from this queue count",
        ),
        pytest.param(
            [
                idle("a", 1, last_offer_ms={"sales": NOW - 9 * SECOND}),
                idle("b", 40, last_offer_ms={"sales": NOW - 9 * SECOND}),
            ],
            ["b", "a"],
            id="same last offer: longest idle",
        ),
        pytest.param([idle("b", 3), idle("a", 3)], ["a", "b"], id="all equal: id"),
    ],
)
def test_round_robin_oldest_last_offer_from_queue(
    agents: list[AgentView], expected: list[str]
) -> None:
    assert ranking(Strategy.ROUND_ROBIN, agents, queue="sales") == expected


@settings(max_examples=100, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    template=agent_views("x"),
    ids=st.lists(st.text(min_size=1, max_size=5), min_size=2, max_size=5, unique=True),
    required=st.dictionaries(st.sampled_from(["en", "fr", "tech"]), st.integers(1, 10)),
)
def test_identical_agents_are_ranked_by_id(
    strategy: Strategy, template: AgentView, ids: list[str], required: dict[str, int]
) -> None:
    """Ties always end on the agent id, so every replica picks the same agent."""
    clones = [dataclasses.replace(template, id=i) for i in ids]
    assert ranking(strategy, clones, queue="support", skills=required) == sorted(ids)
