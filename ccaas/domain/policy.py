"""The routing policy: from a snapshot of waiting contacts and agents, plan the offers to make.

Contacts are taken in the documented order (order_key); each goes to the best eligible
agent by its queue's strategy. Because the best contact chooses first and an agent's room
only shrinks within a round, an agent is always offered the best waiting contact it is
eligible for, across all the queues it serves. An agent who rejected a contact within its
queue's reject_cooldown_seconds is passed over, unless no other agent can take it then.
Each contact looks only at its group's ranked agents (see pools.py), not at every agent.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .backlog import Backlog, ContactGroup, GroupKey
from .eligibility import Ineligible, ineligibility, is_held_from
from .models import AgentView, Channel, ChannelRule, QueueSpec, WaitingContact
from .pools import PlanStats, Pools

__all__ = ["PlanStats", "PlannedOffer", "plan_offers", "plan_round"]


@dataclass(frozen=True, slots=True)
class PlannedOffer:
    contact_id: str
    agent_id: str
    queue: str
    channel: Channel
    despite_reject: bool = False  # the agent rejected it lately, but nobody else could take it
    # what the plan was made of, for a caller whose commit is refused to put it back
    contact: WaitingContact | None = field(default=None, compare=False, repr=False)


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
    backlog = Backlog()
    for contact in contacts:
        backlog.put(contact)
    return plan_round(backlog, Pools(queues, rules, agents.values()), now_ms, stats)


def plan_round(
    backlog: Backlog,
    pools: Pools,
    now_ms: int,
    stats: PlanStats | None = None,
    most_offers: int | None = None,
) -> list[PlannedOffer]:
    """plan_offers on state kept between rounds. The planned contacts leave `backlog` and
    their offers are applied to `pools`; a caller whose commit is refused puts the contact
    back (each offer carries it) and reads the agent again.

    Groups are merged by their best contact, so a round walks only the heads of groups that
    still have agents: its cost grows with the offers it makes, not with the backlog. With
    `most_offers` the round stops after that many; contacts are taken best first, so the
    next round goes on exactly where this one stopped.
    """
    stats = PlanStats() if stats is None else stats
    pools.begin_round(stats)
    queues = pools.queues
    heads: list[tuple[float, str, GroupKey]] = []
    for key, group in backlog.groups.items():
        queue, channel, _ = key
        head = group.head()
        if head is not None and queue in queues and channel in queues[queue].channels:
            heads.append((head.score, head.id, key))
    heapq.heapify(heads)
    planned: list[PlannedOffer] = []
    walked: list[tuple[ContactGroup, tuple[float, str, int]]] = []
    while heads and (most_offers is None or len(planned) < most_offers):
        key = heapq.heappop(heads)[2]
        group = backlog.groups[key]
        entry = group.pop()
        contact = group.contact(entry)
        # a group found empty stays empty for the round (room only shrinks), and its held
        # contacts too can go to nobody: their agent would be in the group if it could
        ranked = pools.ranked_for(contact)
        if not ranked:
            group.restore(entry)
            continue
        candidates: Iterable[AgentView]
        if is_held_from("", contact, now_ms):  # only its preferred agent may take it
            held_for = pools.agents.get(contact.preferred_agent)
            candidates = [held_for] if held_for else []
        else:
            candidates = (pools.agents[rank[-1]] for rank in ranked)
        offer = _choose(contact, candidates, queues, pools.rules, now_ms, stats)
        if offer is None:
            walked.append((group, entry))
        else:
            planned.append(offer)
            stats.offers += 1
            pools.record(offer.agent_id, offer.channel, offer.queue, now_ms)
        following = group.head()
        if following is not None:
            heapq.heappush(heads, (following.score, following.id, key))
        if offer is not None:
            backlog.discard(contact.id)
    for group, entry in walked:
        group.restore(entry)
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
            return PlannedOffer(
                contact.id, agent.id, contact.queue, contact.channel, False, contact
            )
        if reason is Ineligible.REJECTED and fallback is None:
            fallback = agent
    if fallback is None:
        return None
    return PlannedOffer(contact.id, fallback.id, contact.queue, contact.channel, True, contact)
