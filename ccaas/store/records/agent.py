"""The agent codec: the agent hash and its work hash as a typed record, what the API shows
of it under the rules in force, and the routing policy's view of it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...domain.models import AgentView, Channel, ContactState, Presence
from ...domain.rules.compiled import CompiledRules

_LAST_OFFER = "last_offer:"  # one field per queue: when the agent was last offered from it


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A contact the agent holds: its work hash maps the contact id to "state:channel"."""

    contact_id: str
    state: ContactState
    channel: Channel

    @classmethod
    def decode(cls, contact_id: str, entry: str) -> WorkItem:
        state, _, channel = entry.partition(":")
        return cls(contact_id, ContactState(state), Channel(channel))


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """A stored agent: its own settings (what the rules make of them is worked out on use)."""

    id: str
    name: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    profile: str = ""
    own_queues: list[str] = field(default_factory=list)
    own_capacity: dict[str, int] = field(default_factory=dict)
    presence: Presence = Presence.OFFLINE
    away_reason: str = ""
    idle_since: int = 0
    missed: int = 0
    revision: int = 0
    last_offer: dict[str, int] = field(default_factory=dict)
    work: tuple[WorkItem, ...] = ()
    next_presence: str = ""  # taken when its work ends (away or offline); none meanwhile
    next_reason: str = ""
    voice_endpoint: str = ""

    @classmethod
    def decode(cls, raw: Mapping[str, str], work: Mapping[str, str]) -> AgentRecord:
        return cls(
            id=raw.get("id", ""),
            name=raw.get("name", ""),
            skills=json.loads(raw.get("skills") or "{}"),
            profile=raw.get("profile") or "",
            own_queues=json.loads(raw.get("queues") or "[]"),
            own_capacity=json.loads(raw.get("capacity") or "{}"),
            presence=Presence(raw.get("presence") or Presence.OFFLINE),
            away_reason=raw.get("away_reason") or "",
            idle_since=int(raw.get("idle_since") or 0),
            missed=int(raw.get("missed") or 0),
            revision=int(raw.get("rev") or 0),
            last_offer={
                k.removeprefix(_LAST_OFFER): int(v)
                for k, v in raw.items()
                if k.startswith(_LAST_OFFER)
            },
            work=tuple(WorkItem.decode(cid, entry) for cid, entry in sorted(work.items())),
            next_presence=raw.get("next_presence") or "",
            next_reason=raw.get("next_reason") or "",
            voice_endpoint=raw.get("voice_endpoint") or "",
        )

    @property
    def logged_in(self) -> bool:
        return self.presence is not Presence.OFFLINE

    def api(self, rules: CompiledRules) -> dict[str, Any]:
        """The agent as the API shows it: its own settings and what `rules` make of them."""
        memberships = rules.memberships(self.profile, self.own_queues)
        return {
            "id": self.id,
            "name": self.name,
            "skills": self.skills,
            "profile": self.profile or None,
            "voice_endpoint": self.voice_endpoint or None,
            "own_queues": self.own_queues,
            "own_capacity": self.own_capacity,
            "queues": {
                name: {"priority": m.priority, "delay_seconds": m.delay_ms / 1000}
                for name, m in sorted(memberships.items())
            },
            "capacity": rules.capacity(self.profile, self.own_capacity),
            "max_total": rules.max_total(self.profile) or None,
            "presence": self.presence.value,
            "away_reason": self.away_reason or None,
            "idle_since": self.idle_since,
            "missed_offers": self.missed,
            "next_presence": (
                {"presence": self.next_presence, "reason": self.next_reason or None}
                if self.next_presence
                else None
            ),
            "last_offer": self.last_offer,
            "work": [
                {"contact_id": w.contact_id, "state": w.state.value, "channel": w.channel.value}
                for w in self.work
            ],
        }

    def view(self, rules: CompiledRules) -> AgentView:
        """The agent as the routing policy sees it under `rules`."""
        held: dict[str, int] = {}
        for item in self.work:
            held[item.channel.value] = held.get(item.channel.value, 0) + 1
        memberships = rules.memberships(self.profile, self.own_queues)
        return AgentView(
            id=self.id,
            skills=self.skills,
            queues=frozenset(memberships),
            capacity=rules.capacity(self.profile, self.own_capacity),
            # leaving when its work ends, it takes no new work (claim.lua agrees)
            presence=Presence.AWAY if self.next_presence else self.presence,
            idle_since_ms=self.idle_since,
            work=held,
            last_offer_ms=self.last_offer,
            memberships=memberships,
            max_total=rules.max_total(self.profile),
            revision=self.revision,
        )
