"""Agent ranking per queue strategy: the smallest key is the best agent for a contact."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .models import AgentView, Strategy

RankKey = tuple[int, int, int, str]
StrategyKey = tuple[int, int, str]
Ranker = Callable[[AgentView, str, Iterable[str]], StrategyKey]


def _longest_idle(agent: AgentView, queue: str, skills: Iterable[str]) -> StrategyKey:
    return (0, agent.idle_since_ms, agent.id)


def _most_skilled(agent: AgentView, queue: str, skills: Iterable[str]) -> StrategyKey:
    level_sum = sum(agent.skills.get(skill, 0) for skill in skills)
    return (-level_sum, agent.idle_since_ms, agent.id)


def _least_occupied(agent: AgentView, queue: str, skills: Iterable[str]) -> StrategyKey:
    return (agent.total_work, agent.idle_since_ms, agent.id)


def _round_robin(agent: AgentView, queue: str, skills: Iterable[str]) -> StrategyKey:
    return (agent.last_offer_ms.get(queue, 0), agent.idle_since_ms, agent.id)


RANKERS: dict[Strategy, Ranker] = {
    Strategy.LONGEST_IDLE: _longest_idle,
    Strategy.MOST_SKILLED: _most_skilled,
    Strategy.LEAST_OCCUPIED: _least_occupied,
    Strategy.ROUND_ROBIN: _round_robin,
}


def rank_key(strategy: Strategy, agent: AgentView, queue: str, skills: Iterable[str]) -> RankKey:
    """Sort key of `agent` for a contact of `queue` needing `skills`; ties end on the agent id.

    First comes the agent's priority for the queue (from its routing profile: agents with
    the queue as priority 1 before those with it as 2), then the strategy:

    longest-idle: earliest idle_since. most-skilled: highest sum of levels on the required
    skills, then longest idle. least-occupied: fewest held contacts, then longest idle.
    round-robin: oldest last offer from this queue, then longest idle.
    """
    return (agent.membership(queue).priority, *RANKERS[strategy](agent, queue, skills))
