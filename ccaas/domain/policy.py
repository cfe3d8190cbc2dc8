"""The routing policy: from a snapshot of waiting contacts and agents, plan the offers to make.

Contacts are taken in the documented order (order_key); each goes to the best eligible
agent by its queue's strategy. Because the best contact chooses first and an agent's room
only shrinks within a round, an agent is always offered the best waiting contact it is
eligible for, across all the queues it serves. An agent who rejected a contact within its
queue's reject_cooldown_seconds is passed over, unless no other agent can take it then.
Each contact looks only at its group's ranked agents (see pools.py), not at every agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .eligibility import Ineligible, ineligibility, is_held_from
from .models import AgentView, Channel, ChannelRule, QueueSpec, WaitingContact
from .ordering import order_key
from .pools import PlanStats, Pools

__all__ = ["PlanStats", "PlannedOffer", "plan_offers"]


@dataclass(frozen=True, slots=True)
class PlannedOffer:
    contact_id: str
    agent_id: str
    queue: str
    channel: Channel
    despite_reject: bool = False  # the agent rejected it lately, but nobody else could take it


def plan_offers(
    contacts: Iterable[WaitingContact],
    agents: Mapping[str, AgentView],
    queues: Mapping[str, QueueSpec],
    rules: Mapping[Channel, ChannelRule],
    now_ms: int,
    stats: PlanStats | None = None,
) -> list[PlannedOffer]:
    """Offers to make now, best contact first; each agent's room is respected throughout.

    `stats`, when given, counts the agents tested against contacts and contact groups.
    """
    stats = PlanStats() if stats is None else stats
    pools = Pools(agents, queues, rules, stats)
    planned: list[PlannedOffer] = []
    for contact in sorted(contacts, key=order_key):
        if contact.queue not in queues or contact.channel not in queues[contact.queue].channels:
            continue
        # an empty group stays empty for the round (room only shrinks), and its held
        # contacts too can go to nobody: their agent would be in the group if it could
        ranked = pools.ranked_for(contact)
        if not ranked:
            continue
        candidates: Iterable[AgentView]
        if is_held_from("", contact, now_ms):  # only its preferred agent may take it
            held_for = pools.agents.get(contact.preferred_agent)
            candidates = [held_for] if held_for else []
        else:
            candidates = (pools.agents[key[-1]] for key in ranked)
        offer = _choose(contact, candidates, queues, rules, now_ms, stats)
        if offer is not None:
            planned.append(offer)
            stats.offers += 1
            pools.record(offer.agent_id, offer.channel, offer.queue, now_ms)
    return planned


def _choose(
    contact: WaitingContact,
    ranked: Iterable[AgentView],
    queues: Mapping[str, QueueSpec],
    rules: Mapping[Channel, ChannelRule],
    now_ms: int,
    stats: PlanStats,
) -> PlannedOffer | None:
    """The best eligible agent's offer; failing any, the best one held off only by its own
    recent reject of the contact (offered `despite_reject`)."""
    cooldown_ms = int(queues[contact.queue].reject_cooldown_seconds * 1000)
    fallback: AgentView | None = None
    for agent in ranked:
        stats.checks += 1
        reason = ineligibility(agent, contact, rules, now_ms, cooldown_ms)
        if reason is None:
            return PlannedOffer(contact.id, agent.id, contact.queue, contact.channel)
        if reason is Ineligible.REJECTED and fallback is None:
            fallback = agent
    if fallback is None:
        return None
    return PlannedOffer(contact.id, fallback.id, contact.queue, contact.channel, True)
