"""Whether an agent may be offered a contact right now, and if not, why."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .models import AgentView, Channel, ChannelRule, Presence, WaitingContact


class Ineligible(StrEnum):
    """Reasons an agent cannot take a contact; the claim script returns the same words."""

    NOT_AVAILABLE = "agent_not_available"
    NOT_IN_QUEUE = "agent_not_in_queue"
    HELD = "held_for_preferred_agent"
    DELAYED = "queue_delay_not_reached"
    MISSING_SKILL = "missing_skill"
    NO_CAPACITY = "no_capacity"
    REJECTED = "rejected_recently"


def has_skills(agent_skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    return all(agent_skills.get(skill, 0) >= level for skill, level in required.items())


def capacity_limit(agent: AgentView, channel: Channel, rules: Mapping[Channel, ChannelRule]) -> int:
    """Contacts of `channel` the agent may hold: its own capacity, else the channel default.

    The one capacity rule: the policy, the claim script (which is given this limit for the
    contact's channel) and the relaxation facts all read it here; 0 means never offered it.
    """
    return agent.capacity.get(channel, rules[channel].capacity)


def has_room(agent: AgentView, channel: Channel, rules: Mapping[Channel, ChannelRule]) -> bool:
    """Free capacity for one more contact on `channel`, under the cross-channel rules.

    An exclusive channel (voice by default) needs an agent with no other work and, while
    held, blocks all new work. A profile's max_total caps the contacts across channels.
    claim.lua's has_room checks the same, in the same order.
    """
    held = agent.work
    if rules[channel].exclusive and any(held.values()):
        return False
    for other, count in held.items():
        # a Channel is a str, so the channel name held in `work` finds its rule directly
        if count > 0 and rules[other].exclusive:  # type: ignore[index]
            return False
    if agent.max_total and sum(held.values()) >= agent.max_total:
        return False
    return held.get(channel, 0) < capacity_limit(agent, channel, rules)


def is_held_from(agent_id: str, contact: WaitingContact, now_ms: int) -> bool:
    """True while the contact is held for a preferred agent other than `agent_id`."""
    return bool(
        contact.preferred_agent
        and contact.preferred_agent != agent_id
        and now_ms < contact.preferred_until_ms
    )


def rejected_recently(
    agent_id: str, contact: WaitingContact, now_ms: int, cooldown_ms: int
) -> bool:
    """True while the agent's reject of the contact is younger than the queue's cooldown."""
    at = contact.rejected_by.get(agent_id)
    return at is not None and now_ms - at < cooldown_ms


def ineligibility(
    agent: AgentView,
    contact: WaitingContact,
    rules: Mapping[Channel, ChannelRule],
    now_ms: int = 0,
    reject_cooldown_ms: int = 0,
) -> Ineligible | None:
    """None when the agent may take the contact, else the first reason it may not.

    A recent reject is checked last: it is the one reason the policy sets aside, when no
    other agent can take the contact (see policy.plan_offers).
    """
    if agent.presence is not Presence.AVAILABLE:
        return Ineligible.NOT_AVAILABLE
    if contact.queue not in agent.queues:
        return Ineligible.NOT_IN_QUEUE
    if is_held_from(agent.id, contact, now_ms):
        return Ineligible.HELD
    delay = agent.membership(contact.queue).delay_ms
    if delay and now_ms - contact.queue_since_ms < delay:
        return Ineligible.DELAYED
    if not has_skills(agent.skills, contact.skills):
        return Ineligible.MISSING_SKILL
    if not has_room(agent, contact.channel, rules):
        return Ineligible.NO_CAPACITY
    if rejected_recently(agent.id, contact, now_ms, reject_cooldown_ms):
        return Ineligible.REJECTED
    return None


def is_eligible(
    agent: AgentView,
    contact: WaitingContact,
    rules: Mapping[Channel, ChannelRule],
    now_ms: int = 0,
    reject_cooldown_ms: int = 0,
) -> bool:
    return ineligibility(agent, contact, rules, now_ms, reject_cooldown_ms) is None
