"""Whether a new contact is held for its preferred agent: only if that agent could take it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .eligibility import capacity_limit, has_skills
from .models import AgentView, Channel, ChannelRule, Presence


class NoHold(StrEnum):
    """Why a contact is not held for its preferred agent, checked in this order."""

    UNKNOWN_AGENT = "unknown_agent"
    NOT_LOGGED_IN = "not_logged_in"
    NOT_IN_QUEUE = "not_in_queue"
    NO_CHANNEL = "no_channel"
    LACKS_SKILLS = "lacks_skills"


_WORDS = {
    NoHold.UNKNOWN_AGENT: "is not an agent",
    NoHold.NOT_LOGGED_IN: "was not logged in",
    NoHold.NOT_IN_QUEUE: "does not serve {queue}",
    NoHold.NO_CHANNEL: "takes no {channel}",
    NoHold.LACKS_SKILLS: "lacks the skills required",
}


@dataclass(frozen=True, slots=True)
class HoldDecision:
    """The hold a new contact gets (hold_ms > 0) or why it gets none."""

    agent: str
    hold_ms: int
    reason: NoHold | None
    note: str  # in words, as the contact records it (preferred_note)

    @property
    def applied(self) -> bool:
        return self.reason is None

    def explained(self) -> dict[str, Any]:
        """What explain shows as classification.preferred_agent."""
        shown: dict[str, Any] = {
            "agent": self.agent,
            "hold": "applied" if self.applied else "not_applied",
        }
        if self.applied:
            shown["hold_seconds"] = self.hold_ms / 1000
        else:
            shown["reason"] = str(self.reason)
        return shown


def decide_hold(
    agent_id: str,
    agent: AgentView | None,
    queue: str,
    channel: Channel,
    skills: Mapping[str, int],
    hold_ms: int,
    rules: Mapping[Channel, ChannelRule],
) -> HoldDecision:
    """Hold the contact for `agent_id` only if that agent is logged in, serves the queue,
    takes the channel and has the required skills: otherwise a hold only keeps the contact
    from agents who could take it, for an agent who never will."""
    reason: NoHold | None = None
    if agent is None:
        reason = NoHold.UNKNOWN_AGENT
    elif agent.presence is Presence.OFFLINE:
        reason = NoHold.NOT_LOGGED_IN
    elif queue not in agent.queues:
        reason = NoHold.NOT_IN_QUEUE
    elif capacity_limit(agent, channel, rules) == 0:
        reason = NoHold.NO_CHANNEL
    elif not has_skills(agent.skills, skills):
        reason = NoHold.LACKS_SKILLS
    if reason is None:
        return HoldDecision(agent_id, hold_ms, None, f"held {hold_ms // 1000} s for {agent_id}")
    words = _WORDS[reason].format(queue=queue, channel=channel.value)
    return HoldDecision(agent_id, 0, reason, f"{agent_id} {words}: no hold")
