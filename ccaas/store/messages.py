"""Contacts' conversations: post a message (customer, agent or system side), read them back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, CustomerErased, NotFound
from .context import StoreContext
from .scripts import Reply

MESSAGES_KEPT = 500  # per contact: the oldest go beyond this
MAX_TEXT = 4000  # characters in one message
PAGE = 100  # messages one read returns at most


@dataclass(frozen=True, slots=True)
class Posted:
    message_id: str
    holder: str  # the agent holding the contact now ("" if none)


def message_view(message_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """A message as the API and the websocket show it."""
    view: dict[str, Any] = {
        "id": message_id,
        "from": fields.get("from", ""),
        "text": fields.get("text", ""),
        "at": int(fields.get("at", "0")),
        "delivery": "queued" if "outbound" in fields else "received",
    }
    if fields.get("agent"):
        view["agent_id"] = fields["agent"]
    return view


_REFUSALS = {
    "voice": "a voice contact has no conversation: its messages are the call",
    "ended": "the contact ended (completed or abandoned): its conversation takes no message",
    "not_connected": "an agent writes only to a contact connected to it",
}


class MessageRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def post(self, contact_id: str, sender: str, text: str, agent_id: str = "") -> Posted:
        """Add a message; NotFound, CustomerErased or Conflict (saying why) when refused."""
        keys = self.ctx.keys
        channel = await self.ctx.redis.hget(keys.contact(contact_id), "channel") or "chat"
        answer = await self.ctx.scripts.post_message(
            keys=[
                keys.contact(contact_id),
                keys.contact_messages(contact_id),
                keys.outbound(channel),
                keys.events,
            ],
            args=[contact_id, sender, agent_id, text, self.ctx.clock.now_ms(), MESSAGES_KEPT],
        )
        reply = Reply.decode(answer)
        if reply.ok:
            return Posted(str(reply.values[0]), str(reply.values[1]))
        if reply.reason == "no_contact":
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        if reply.reason == "customer_erased":
            raise CustomerErased(
                "the contact's customer was erased: it takes no new message",
                contact_id=contact_id,
            )
        raise Conflict(_REFUSALS[str(reply.reason)], reason=reply.reason, contact_id=contact_id)

    async def read(
        self, contact_id: str, after: str = "", limit: int = PAGE
    ) -> list[dict[str, Any]]:
        """The messages after the id `after` (from the first if ""), oldest first."""
        start = f"({after}" if after else "-"
        entries = await self.ctx.redis.xrange(
            self.ctx.keys.contact_messages(contact_id), start, "+", count=limit
        )
        return [message_view(message_id, fields) for message_id, fields in entries]

    async def one(self, contact_id: str, message_id: str) -> dict[str, Any] | None:
        entries = await self.ctx.redis.xrange(
            self.ctx.keys.contact_messages(contact_id), message_id, message_id
        )
        return message_view(*entries[0]) if entries else None
