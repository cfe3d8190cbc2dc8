"""A routing round's cost in eligibility checks, counted (not timed) on large snapshots."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from ccaas.domain.models import AgentView, WaitingContact
from ccaas.domain.policy import PlanStats, plan_offers
from tests.unit.builders import NOW, QUEUES, RULES, SECOND, agent, contact

CHECKS_PER_LOG2_AGENTS = 2  # allowed checks per offer made, per log2(agents)
Scenario = Callable[[int], tuple[list[WaitingContact], list[AgentView]]]


def rare_skill(agents: int) -> tuple[list[WaitingContact], list[AgentView]]:
    """1,000 contacts that need Spanish, which only 10 of the agents speak."""
    team = [
        agent(f"a{n}", skills={"es": 5} if n % (agents // 10) == 0 else {"en": 5})
        for n in range(agents)
    ]
    return [contact(f"c{n}", skills={"es": 3}, waited_s=n) for n in range(1000)], team


def half_full(agents: int) -> tuple[list[WaitingContact], list[AgentView]]:
    """1,000 contacts; every other agent is already at its 3 chats."""
    team = [
        agent(f"a{n}", work={"chat": 3} if n % 2 else {}, idle_since_ms=NOW - n * SECOND)
        for n in range(agents)
    ]
    return [contact(f"c{n}", waited_s=n) for n in range(1000)], team


@pytest.mark.parametrize(
    ("scenario", "agents"),
    [(rare_skill, 1_000), (rare_skill, 10_000), (half_full, 1_000)],
    ids=["rare skill, 1k agents", "rare skill, 10k agents", "half full, 1k agents"],
)
def test_checks_per_offer_grow_with_log_agents_not_with_the_backlog(
    scenario: Scenario, agents: int
) -> None:
    contacts, team = scenario(agents)
    stats = PlanStats()
    offers = plan_offers(contacts, {a.id: a for a in team}, QUEUES, RULES, NOW, stats)
    assert offers and stats.offers == len(offers)
    assert stats.checks / len(offers) <= CHECKS_PER_LOG2_AGENTS * math.log2(agents), stats
