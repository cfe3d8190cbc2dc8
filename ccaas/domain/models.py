"""Frozen values the routing policy works on: channels, presence, contacts, agents, queues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    SOCIAL = "social"


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


class ContactState(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    SCHEDULED = "scheduled"  # a callback the customer did not answer: waits to be tried again


class Strategy(StrEnum):
    LONGEST_IDLE = "longest-idle"
    MOST_SKILLED = "most-skilled"
    LEAST_OCCUPIED = "least-occupied"
    ROUND_ROBIN = "round-robin"


EMPTY: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """How much of one channel an agent may hold, and whether it blocks every other channel."""

    capacity: int
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A queue as configured: which channels it takes and how it routes."""

    name: str
    channels: frozenset[Channel]
    sla_seconds: int = 20
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout_seconds: float = 20.0
    wrap_up_seconds: float = 0.0
    reject_cooldown_seconds: float = 60.0  # a rejecting agent is passed over this long


@dataclass(frozen=True, slots=True)
class WaitingContact:
    """A contact as the policy sees it while it waits.

    queue_since_ms is when it entered its current queue (profile delays and relaxation
    timers count from it); while now < preferred_until_ms only preferred_agent may take it.
    rejected_by maps each agent who rejected it (within the queue's cooldown) to when (ms).
    """

    id: str
    queue: str
    channel: Channel
    skills: Mapping[str, int]
    priority: int
    first_enqueued_ms: int
    score: float
    queue_since_ms: int = 0
    rule: str = ""
    relaxed: frozenset[str] = frozenset()
    preferred_agent: str = ""
    preferred_until_ms: int = 0
    rejected_by: Mapping[str, int] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class Membership:
    """How an agent serves one queue: priority 1 is served before 2; delay in ms of waiting."""

    priority: int = 1
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent as the policy sees it: what it can do and what it holds right now."""

    id: str
    skills: Mapping[str, int]
    queues: frozenset[str]
    capacity: Mapping[str, int]
    presence: Presence
    idle_since_ms: int
    work: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    last_offer_ms: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    memberships: Mapping[str, Membership] = field(default_factory=lambda: MappingProxyType({}))
    max_total: int = 0  # contacts across all channels; 0 means no limit beyond each channel's
    revision: int = 0  # of the agent's profile; a claim planned on another revision is refused

    def membership(self, queue: str) -> Membership:
        return self.memberships.get(queue, _DEFAULT_MEMBERSHIP)

    def with_offer(self, channel: str, queue: str, at_ms: int) -> AgentView:
        """The agent after being offered one more contact of `channel` from `queue`.

        Built directly rather than with dataclasses.replace: this runs once per offer.
        """
        work = dict(self.work)
        work[channel] = work.get(channel, 0) + 1
        last_offer = dict(self.last_offer_ms)
        last_offer[queue] = at_ms
        return AgentView(
            self.id,
            self.skills,
            self.queues,
            self.capacity,
            self.presence,
            at_ms,
            work,
            last_offer,
            self.memberships,
            self.max_total,
            self.revision,
        )

    @property
    def total_work(self) -> int:
        return sum(self.work.values())


_DEFAULT_MEMBERSHIP = Membership()
