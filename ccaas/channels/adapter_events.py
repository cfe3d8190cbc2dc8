"""The event stream's contact events as adapters see them on contacts/{id}/events: a name
each, the fields an adapter can act on, never the routing's inner workings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RENAMED = {"message_posted": "message", "message_delivery": "delivery"}
PASSED_ON = {  # event field -> its name in the payload
    "queue": "queue",
    "from_queue": "from_queue",
    "agent": "agent_id",
    "to_agent": "to_agent",
    "message": "message_id",
    "from": "from",
    "state": "state",
    "reason": "reason",
    "step": "step",
}
CONTACT_EVENTS = frozenset(
    {
        "contact_queued",
        "contact_offered",
        "offer_rejected",
        "offer_timed_out",
        "offer_withdrawn",
        "contact_connected",
        "contact_transferred",
        "contact_relaxed",
        "customer_left",
        "contact_handled",
        "contact_completed",
        "contact_abandoned",
        "contact_erased",
        "message_posted",
        "message_delivery",
    }
)


def adapter_event(seq: str, fields: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The contact's id and the payload of an event adapters are told of (None: not one)."""
    kind, contact_id = fields.get("type", ""), fields.get("contact", "")
    if kind not in CONTACT_EVENTS or not contact_id:
        return None
    payload: dict[str, Any] = {
        "event": RENAMED.get(kind, kind.removeprefix("contact_")),
        "contact_id": contact_id,
        "seq": seq,
        "at": int(fields.get("ts", "0")) // 1000,  # ms; the event's ts is in microseconds
    }
    for name, shown in PASSED_ON.items():
        if fields.get(name):
            payload[shown] = fields[name]
    return contact_id, payload


def position_event(
    contact_id: str, queue: str, position: int, ewt_seconds: int | None
) -> dict[str, Any]:
    """Where a waiting contact stands: "you are 3rd, about 2 minutes"."""
    return {
        "event": "position",
        "contact_id": contact_id,
        "queue": queue,
        "position": position,
        "ewt_seconds": ewt_seconds,
    }
