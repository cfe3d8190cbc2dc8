"""Which frames an event of the tenant's stream makes on its agent's console: the bare frames,
before the hub fills in what it reads (the contact's card, the message)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OFFER_ENDED = {
    "offer_rejected": "rejected",
    "offer_timed_out": "timed_out",
    "offer_withdrawn": "withdrawn",
}
Frame = dict[str, Any]


def seq_key(stream_id: str) -> tuple[int, int]:
    """A stream id ("1733059200000-3") as a pair that orders like the stream."""
    ms, _, n = stream_id.partition("-")
    return int(ms), int(n or 0)


def bare_frames(fields: Mapping[str, str]) -> list[Frame]:
    """The frames an event makes for the agent it names (none for most events)."""
    kind, contact = fields.get("type", ""), fields.get("contact", "")
    offer = fields.get("offer", "")
    if kind == "contact_offered":
        return [{"type": "offer", "offer_id": offer, "contact_id": contact}]
    if kind in OFFER_ENDED:
        return [
            {"type": "offer_ended", "offer_id": offer, "contact_id": contact,
             "reason": OFFER_ENDED[kind]}
        ]  # fmt: skip
    if kind == "contact_connected":
        return [
            {"type": "offer_ended", "offer_id": offer, "contact_id": contact,
             "reason": "accepted"},
            {"type": "connected", "contact_id": contact},
        ]  # fmt: skip
    if kind == "contact_abandoned":
        if fields.get("was") == "offered":
            return [
                {"type": "offer_ended", "offer_id": offer, "contact_id": contact,
                 "reason": "customer_left"}
            ]  # fmt: skip
        return []
    if kind == "contact_erased":
        return [{"type": "card", "contact_id": contact}]
    if kind == "customer_left":
        return [{"type": "customer_left", "contact_id": contact}]
    if kind == "contact_handled":
        return [{"type": "wrap_up", "contact_id": contact}]
    if kind == "contact_completed":
        return [{"type": "wrap_up_ended", "contact_id": contact}]
    if kind == "agent_presence":
        return [
            {"type": "presence", "presence": fields.get("presence", ""),
             "reason": fields.get("reason", "")}
        ]  # fmt: skip
    if kind == "contact_transferred":
        return [
            {"type": "transferred", "contact_id": contact, "queue": fields.get("queue", ""),
             "to_agent": fields.get("to_agent", "")}
        ]  # fmt: skip
    if kind == "agent_next_presence":
        return [
            {"type": "next_presence", "presence": fields.get("presence") or None,
             "reason": fields.get("reason", "")}
        ]  # fmt: skip
    if kind == "message_posted":
        return [{"type": "message", "contact_id": contact, "message_id": fields.get("message", "")}]
    if kind == "callback_scheduled":  # the customer did not answer: it left the agent's work
        return [
            {"type": "callback_scheduled", "contact_id": contact,
             "due_at": int(fields.get("due", "0")), "attempts": int(fields.get("attempts", "0"))}
        ]  # fmt: skip
    if kind == "message_delivery":
        return [
            {"type": "delivery", "contact_id": contact, "message_id": fields.get("message", ""),
             "state": fields.get("state", ""), "reason": ""}
        ]  # fmt: skip
    return []
