"""Contacts' conversations: post a message (customer, agent or system side), read them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, CustomerErased, InvalidInput, NotFound
from .context import StoreContext
from .scripts import Reply

MESSAGES_KEPT = 500  # per contact: the oldest go beyond this
MAX_TEXT = 4000  # characters in one message
PAGE = 100  # messages one read returns at most


DELIVERY_STATES = ("sent", "delivered", "read", "failed")  # what adapters report
SOCKET_ROUTES = ("webchat",)  # channels that hand agents' messages on from the event


@dataclass(frozen=True, slots=True)
class Posted:
    message_id: str
    holder: str  # the agent holding the contact now ("" if none)
    added: bool = True  # False: the adapter's message id was seen before; nothing was added


@dataclass(frozen=True, slots=True)
class Delivery:
    state: str
    changed: bool  # False: the report repeated or went back; nothing was changed


def message_view(
    message_id: str, fields: dict[str, str], marks: dict[str, str] | None = None
) -> dict[str, Any]:
    """A message as the API and the websocket show it; an agent's with its delivery state."""
    view: dict[str, Any] = {
        "id": message_id,
        "from": fields.get("from", ""),
        "text": fields.get("text", ""),
        "at": int(fields.get("at", "0")),
        "delivery": "received",
    }
    if fields.get("agent"):
        view["agent_id"] = fields["agent"]
    if fields.get("from") == "agent":
        known = (marks or {}).get("delivery:" + message_id)
        delivery = json.loads(known) if known else {"state": "queued"}
        view["delivery"] = delivery["state"]
        if delivery.get("reason"):
            view["delivery_reason"] = delivery["reason"]
    return view


_REFUSALS = {
    "reply_window_closed": "the channel takes an agent's message only within its reply "
    "window of the customer's last message (WhatsApp and Messenger: 24 hours), and that has "
    "passed: the customer must write first",
    "voice": "a voice contact has no conversation: its messages are the call",
    "ended": "the contact ended (completed or abandoned): its conversation takes no message",
    "not_connected": "an agent writes only to a contact connected to it",
}


class MessageRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def post(
        self,
        contact_id: str,
        sender: str,
        text: str,
        agent_id: str = "",
        reference: str = "",
        written_at: int = 0,
    ) -> Posted:
        """Add a message; NotFound, CustomerErased or Conflict (saying why) when refused.
        A `reference` (the adapter's id of the message) seen before adds nothing;
        `written_at` is when the customer wrote it, if the provider says (ms)."""
        keys = self.ctx.keys
        channel, route = await self.ctx.redis.hmget(
            keys.contact(contact_id), "channel", "delivered_by"
        )
        route = route or channel or "chat"
        answer = await self.ctx.scripts.post_message(
            keys=[
                keys.contact(contact_id),
                keys.contact_messages(contact_id),
                keys.outbound(route),
                keys.events,
                keys.contact_message_marks(contact_id),
            ],
            args=[
                contact_id,
                sender,
                agent_id,
                text,
                self.ctx.clock.now_ms(),
                MESSAGES_KEPT,
                reference,
                "0" if route in SOCKET_ROUTES else "1",
                written_at,
            ],
        )
        reply = Reply.decode(answer)
        if reply.ok:
            return Posted(str(reply.values[0]), str(reply.values[1]), reply.values[2] == "1")
        if reply.reason == "no_contact":
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        if reply.reason == "customer_erased":
            raise CustomerErased(
                "the contact's customer was erased: it takes no new message",
                contact_id=contact_id,
            )
        if reply.reason == "reply_window_closed":
            raise Conflict(
                _REFUSALS["reply_window_closed"],
                reason="reply_window_closed",
                contact_id=contact_id,
                customer_last_wrote_at=int(reply.values[0]) or None,
            )
        raise Conflict(_REFUSALS[str(reply.reason)], reason=reply.reason, contact_id=contact_id)

    async def read(
        self, contact_id: str, after: str = "", limit: int = PAGE
    ) -> list[dict[str, Any]]:
        """The messages after the id `after` (from the first if ""), oldest first."""
        start = f"({after}" if after else "-"
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.xrange(keys.contact_messages(contact_id), start, "+", count=limit)
            pipe.hgetall(keys.contact_message_marks(contact_id))
            entries, marks = await pipe.execute()
        return [message_view(message_id, fields, marks) for message_id, fields in entries]

    async def latest(self, contact_id: str, limit: int = PAGE) -> list[dict[str, Any]]:
        """The newest `limit` messages, oldest first."""
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.xrevrange(keys.contact_messages(contact_id), "+", "-", count=limit)
            pipe.hgetall(keys.contact_message_marks(contact_id))
            entries, marks = await pipe.execute()
        return [message_view(message_id, fields, marks) for message_id, fields in reversed(entries)]

    async def one(self, contact_id: str, message_id: str) -> dict[str, Any] | None:
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.xrange(keys.contact_messages(contact_id), message_id, message_id)
            pipe.hgetall(keys.contact_message_marks(contact_id))
            entries, marks = await pipe.execute()
        return message_view(entries[0][0], entries[0][1], marks) if entries else None

    async def references(self, contact_id: str) -> list[tuple[str, str]]:
        """The adapters' ids of the contact's messages (an email's Message-ID), each with our
        message id, oldest first."""
        marks = await self.ctx.redis.hgetall(self.ctx.keys.contact_message_marks(contact_id))
        found = [
            (ours, name.removeprefix("ref:"))
            for name, ours in marks.items()
            if name.startswith("ref:")
        ]
        return sorted(found, key=lambda pair: _stream_order(pair[0]))

    async def remember_provider_id(
        self, route: str, provider_id: str, contact_id: str, message_id: str
    ) -> None:
        """The provider's id of an agent's message, for its statuses that name only it."""
        await self.ctx.redis.hset(
            self.ctx.keys.provider_messages, f"{route}:{provider_id}", f"{contact_id} {message_id}"
        )

    async def by_provider_id(self, route: str, provider_id: str) -> tuple[str, str] | None:
        found = await self.ctx.redis.hget(self.ctx.keys.provider_messages, f"{route}:{provider_id}")
        if not found:
            return None
        contact_id, _, message_id = str(found).partition(" ")
        return contact_id, message_id

    async def mark_delivery(
        self, contact_id: str, message_id: str, state: str, reason: str = ""
    ) -> Delivery:
        """Record how far an agent's message got (states only move forward); NotFound for
        an unknown contact or a message that is no agent's message of it."""
        if state not in DELIVERY_STATES:
            raise InvalidInput(
                f"delivery state {state!r} is none of {', '.join(DELIVERY_STATES)}",
                field="state",
            )
        keys = self.ctx.keys
        answer = await self.ctx.scripts.mark_delivery(
            keys=[keys.contact(contact_id), keys.contact_message_marks(contact_id), keys.events],
            args=[contact_id, message_id, state, reason, self.ctx.clock.now_ms()],
        )
        reply = Reply.decode(answer)
        if reply.ok:
            return Delivery(str(reply.values[0]), reply.values[1] == "1")
        if reply.reason == "no_contact":
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        raise NotFound(
            f"contact {contact_id!r} has no agent message {message_id!r}",
            contact_id=contact_id,
            message_id=message_id,
        )


def _stream_order(message_id: str) -> tuple[int, int]:
    ms, _, seq = message_id.partition("-")
    return int(ms or 0), int(seq or 0)
