"""The contact codec: the contact hash as a typed record, the offer it may carry, the view
the routing policy reads, and the JSON of a new contact's fields for enqueue.lua."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...domain.models import Channel, ContactState, WaitingContact


def integer(value: str) -> int:
    """A stored number: "12", or "12.0" as Lua writes some."""
    return int(float(value))


def parsed(value: str | None, empty: Any) -> Any:
    """A stored JSON value; `empty` when absent (writers leave empty values out)."""
    return json.loads(value) if value else empty


# JSON fields, with the value meant when the field is absent
JSON_FIELDS: dict[str, Any] = {
    "skills": {},
    "customer": None,
    "attributes": {},
    "priority_terms": [],
    "tags": [],
    "relaxed": [],
    "overflowed": [],
    "rejected_by": {},  # agent -> when (ms) it rejected the contact, within the cooldown
    "preferred_hold": None,  # whether a preferred-agent hold was applied, and if not why
    "transfers": [],  # each transfer: {at, from_agent, from_queue, to_queue, to_agent, note}
}
INT_FIELDS = (
    "priority",
    "first_enqueued_at",
    "enqueued_at",
    "created_at",
    "offer_count",
    "offered_at",
    "offer_expires_at",
    "connected_at",
    "handled_at",
    "wrap_up_until",
    "completed_at",
    "abandoned_at",
    "customer_left_at",
    "queue_since",
    "preferred_until",
    "rules_version",
    "body_bytes",
    "erased_at",
    "callback_requested_at",
    "callback_attempts",
    "reply_window_seconds",
    "last_customer_at",
)
TEXT_FIELDS = (
    "delivered_by",
    "reply_to",
    "callback_number",
    "callback_queue",
    "id",
    "tenant",
    "external_id",
    "queue",
    "rule",
    "customer_id",
    "repeat_of",
    "agent_id",
    "offer_id",
    "ended_offer_id",
    "ended_offer_agent_id",
    "ended_offer_reason",
    "disposition",
    "notes",
    "preferred_agent",
    "preferred_note",
    "body_kind",
)
_HIDDEN = frozenset({"score"})  # stored for the queues' order; the API shows priority terms


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer ringing for an agent; its id is "{contact id}.{attempt}.{token}"."""

    offer_id: str
    agent_id: str
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A stored contact. A field its hash (or a partial read of it) lacks is None; JSON
    fields hold their empty value instead."""

    id: str | None = None
    state: ContactState | None = None
    tenant: str | None = None
    channel: Channel | None = None
    external_id: str | None = None
    queue: str | None = None
    rule: str | None = None
    skills: dict[str, int] = dataclasses.field(default_factory=dict)
    priority: int | None = None
    priority_terms: list[list[Any]] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    overflowed: list[list[str]] = dataclasses.field(default_factory=list)
    relaxed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rejected_by: dict[str, int] = dataclasses.field(default_factory=dict)
    customer: dict[str, Any] | None = None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    customer_id: str | None = None
    repeat_of: str | None = None
    rules_version: int | None = None
    score: float | None = None
    created_at: int | None = None
    first_enqueued_at: int | None = None
    enqueued_at: int | None = None
    queue_since: int | None = None
    offer_count: int | None = None
    agent_id: str | None = None
    offer_id: str | None = None
    ended_offer_id: str | None = None  # the last offer that ended unanswered, by whom, why
    ended_offer_agent_id: str | None = None
    ended_offer_reason: str | None = None
    offered_at: int | None = None
    offer_expires_at: int | None = None
    connected_at: int | None = None
    handled_at: int | None = None
    wrap_up_until: int | None = None
    completed_at: int | None = None
    abandoned_at: int | None = None
    customer_left_at: int | None = None  # left while an agent held it (still the agent's)
    disposition: str | None = None
    notes: str | None = None
    preferred_agent: str | None = None
    preferred_until: int | None = None
    preferred_note: str | None = None
    preferred_hold: dict[str, Any] | None = None
    transfers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    body_bytes: int | None = None
    body_kind: str | None = None
    erased_at: int | None = None  # its customer was erased: it takes no new personal data
    delivered_by: str | None = None  # the native channel that delivers agents' messages
    reply_to: str | None = None  # the address it delivers them to
    reply_window_seconds: int | None = None  # agents answer only this long after the customer
    last_customer_at: int | None = None  # when the customer last wrote
    callback_number: str | None = None  # the customer left the line: call them back here
    callback_queue: str | None = None
    callback_requested_at: int | None = None
    callback_attempts: int | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)  # fields of newer code

    @classmethod
    def decode(cls, raw: Mapping[str, str | None]) -> ContactRecord:
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for name, value in raw.items():
            kind = _KINDS.get(name)
            if kind is None:
                if value:
                    extra[name] = value
            elif name in JSON_FIELDS:
                values[name] = parsed(value, _empty(name))
            elif value:
                values[name] = kind(value)
        return cls(**values, extra=extra)

    @property
    def offer(self) -> Offer | None:
        if self.state is not ContactState.OFFERED or not self.offer_id:
            return None
        return Offer(self.offer_id, self.agent_id or "", self.offer_expires_at)

    def api(self) -> dict[str, Any]:
        """The contact as the API shows it: the fields it has, JSON fields always."""
        shown: dict[str, Any] = {}
        for name in _KINDS:
            value = getattr(self, name)
            if name in JSON_FIELDS:
                shown[name] = value
            elif value is not None and name not in _HIDDEN:
                shown[name] = value.value if isinstance(value, ContactState | Channel) else value
        shown.update({k: v for k, v in self.extra.items() if k not in _HIDDEN})
        return shown


def _empty(name: str) -> Any:
    empty = JSON_FIELDS[name]
    return type(empty)() if empty is not None else None


_KINDS: dict[str, Any] = {
    **{name: str for name in TEXT_FIELDS},
    **{name: integer for name in INT_FIELDS},
    **{name: json.loads for name in JSON_FIELDS},
    "state": ContactState,
    "channel": Channel,
    "score": float,
}


_STRUCTURED = (dict, list, tuple)


def encode_new(*parts: Mapping[str, Any]) -> str:
    """A new contact's fields (given in parts) as enqueue.lua reads them: one JSON object of
    strings and numbers, structured values as JSON text; empty values are left out (decode
    defaults them)."""
    encoded: dict[str, Any] = {}
    for part in parts:
        for name, value in part.items():
            if isinstance(value, _STRUCTURED):
                if value:
                    encoded[name] = json.dumps(value, sort_keys=True)
            elif value is not None and value != "":
                encoded[name] = value
    return json.dumps(encoded)


# What the routing policy reads of a waiting contact, in this order (snapshot and explain).
WAITING_FIELDS = (
    "channel",
    "queue",
    "skills",
    "priority",
    "first_enqueued_at",
    "queue_since",
    "rule",
    "relaxed",
    "preferred_agent",
    "preferred_until",
    "rejected_by",
)


@functools.lru_cache(maxsize=4096)
def _requirements(skills_json: str) -> Mapping[str, int]:
    """Parsed required skills; contacts share few distinct sets, so parse each once."""
    return MappingProxyType(json.loads(skills_json))


def waiting_view(contact_id: str, score: float, row: Sequence[str | None]) -> WaitingContact:
    """The policy's view of a waiting contact from its WAITING_FIELDS (the hot path: one
    contact per waiting contact per round, so it decodes only what the policy needs)."""
    channel, queue, skills, priority, first, since, rule, relaxed, preferred, until, rejected = row
    return WaitingContact(
        id=contact_id,
        queue=queue or "",
        channel=Channel(str(channel)),
        skills=_requirements(skills or "{}"),
        priority=int(priority or 0),
        first_enqueued_ms=int(first or 0),
        score=score,
        queue_since_ms=int(since or first or 0),
        rule=rule or "",
        relaxed=frozenset(step["step"] for step in json.loads(relaxed))
        if relaxed and relaxed != "[]"
        else frozenset(),
        preferred_agent=preferred or "",
        preferred_until_ms=int(until or 0),
        rejected_by=MappingProxyType({a: int(t) for a, t in json.loads(rejected).items()})
        if rejected
        else MappingProxyType({}),
    )
