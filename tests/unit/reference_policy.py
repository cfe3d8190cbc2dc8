"""The straightforward O(waiting x agents) planner, kept to check the indexed one against.

A frozen copy of plan_offers as it was before pools were indexed: every contact walks its
queue's ranked pool past every agent that cannot take it. Test-only; never imported by ccaas.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

from ccaas.domain.eligibility import Ineligible, has_room, ineligibility, is_held_from
from ccaas.domain.models import (
    AgentView,
    Channel,
    ChannelRule,
    Presence,
    QueueSpec,
    Strategy,
    WaitingContact,
)
from ccaas.domain.ordering import order_key
from ccaas.domain.policy import PlannedOffer
from ccaas.domain.strategies import RankKey, rank_key

_PoolKey = tuple[str, Strategy, tuple[str, ...]]


class _Pools:
    """Per (queue, strategy, skill names) a list of agents kept sorted by rank key."""

    def __init__(
        self,
        agents: Mapping[str, AgentView],
        queues: Mapping[str, QueueSpec],
        rules: Mapping[Channel, ChannelRule],
    ) -> None:
        self.agents = dict(agents)
        self.queues = queues
        self.rules = rules
        self.members: dict[str, list[str]] = {}
        for agent in self.agents.values():
            if agent.presence is not Presence.AVAILABLE:
                continue
            for queue in agent.queues:
                if queue in queues:
                    self.members.setdefault(queue, []).append(agent.id)
        self.sorted: dict[_PoolKey, list[RankKey]] = {}
        self.keys: dict[_PoolKey, dict[str, RankKey]] = {}

    def candidates(self, contact: WaitingContact) -> list[RankKey] | None:
        members = self.members.get(contact.queue)
        if not members:
            return None
        strategy = self.queues[contact.queue].strategy
        skills = tuple(sorted(contact.skills)) if strategy is Strategy.MOST_SKILLED else ()
        pool_key = (contact.queue, strategy, skills)
        ranked = self.sorted.get(pool_key)
        if ranked is None:
            keys = {
                aid: rank_key(strategy, self.agents[aid], contact.queue, skills) for aid in members
            }
            ranked = sorted(keys.values())
            self.sorted[pool_key] = ranked
            self.keys[pool_key] = keys
        return ranked

    def record(self, planned: PlannedOffer, now_ms: int) -> None:
        """Apply an offer to the snapshot and re-rank the agent wherever it is listed."""
        agent = self.agents[planned.agent_id].with_offer(planned.channel, planned.queue, now_ms)
        self.agents[agent.id] = agent
        for pool_key, keys in self.keys.items():
            old = keys.get(agent.id)
            if old is None:
                continue
            ranked = self.sorted[pool_key]
            del ranked[bisect.bisect_left(ranked, old)]
            queue, strategy, skills = pool_key
            if any(has_room(agent, ch, self.rules) for ch in self.queues[queue].channels):
                new = rank_key(strategy, agent, queue, skills)
                keys[agent.id] = new
                bisect.insort(ranked, new)
            else:
                del keys[agent.id]


def reference_plan_offers(
    contacts: Iterable[WaitingContact],
    agents: Mapping[str, AgentView],
    queues: Mapping[str, QueueSpec],
    rules: Mapping[Channel, ChannelRule],
    now_ms: int,
) -> list[PlannedOffer]:
    """Offers to make now, best contact first; each agent's room is respected throughout."""
    pools = _Pools(agents, queues, rules)
    planned: list[PlannedOffer] = []
    for contact in sorted(contacts, key=order_key):
        if contact.queue not in queues or contact.channel not in queues[contact.queue].channels:
            continue
        ranked = pools.candidates(contact)
        if not ranked:
            continue
        if is_held_from("", contact, now_ms):  # only its preferred agent may take it
            held_for = pools.agents.get(contact.preferred_agent)
            ranked = [rank_key(Strategy.LONGEST_IDLE, held_for, "", ())] if held_for else []
        offer = _choose(contact, ranked, pools, queues, rules, now_ms)
        if offer is not None:
            planned.append(offer)
            pools.record(offer, now_ms)
    return planned


def _choose(
    contact: WaitingContact,
    ranked: Iterable[RankKey],
    pools: _Pools,
    queues: Mapping[str, QueueSpec],
    rules: Mapping[Channel, ChannelRule],
    now_ms: int,
) -> PlannedOffer | None:
    """The best eligible agent's offer; failing any, the best one held off only by its own
    recent reject of the contact (offered `despite_reject`)."""
    cooldown_ms = int(queues[contact.queue].reject_cooldown_seconds * 1000)
    fallback: AgentView | None = None
    for key in ranked:
        agent = pools.agents[key[-1]]
        reason = ineligibility(agent, contact, rules, now_ms, cooldown_ms)
        if reason is None:
            return PlannedOffer(contact.id, agent.id, contact.queue, contact.channel)
        if reason is Ineligible.REJECTED and fallback is None:
            fallback = agent
    if fallback is None:
        return None
    return PlannedOffer(contact.id, fallback.id, contact.queue, contact.channel, True)
