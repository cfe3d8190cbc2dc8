"""What an agent's console shows of one contact: the card of an offer or of held work, with
who the customer is, what happened before, what the IVR or bot gathered and the
conversation so far."""

from __future__ import annotations

from typing import Any

from ..domain.models import Channel
from ..errors import NotFound
from ..store.messages import MessageRepository
from .service import HISTORY, Desk

CARD_MESSAGES = 50  # the newest messages a card carries; the console reads older ones on demand
_CONTACT_FIELDS = (
    "id",
    "state",
    "channel",
    "queue",
    "priority",
    "skills",
    "attributes",
    "tags",
    "repeat_of",
    "offer_id",
    "offer_expires_at",
    "wrap_up_until",
    "first_enqueued_at",
    "connected_at",
)


class Cards:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.messages = MessageRepository(desk.ctx)

    async def card(self, contact_id: str) -> dict[str, Any] | None:
        """The contact's card, or None if it is gone."""
        try:
            contact = await self.desk.contacts.get(contact_id)
        except NotFound:
            return None
        card = {name: contact[name] for name in _CONTACT_FIELDS if name in contact}
        card["contact_id"] = card.pop("id", contact_id)
        first = int(contact.get("first_enqueued_at") or 0)
        card["waited_ms"] = max(0, self.desk.ctx.clock.now_ms() - first) if first else 0
        card["repeat"] = bool(contact.get("repeat_of"))
        if contact.get("callback_number"):  # the agent calls the customer back
            card["callback"] = {
                "number": contact["callback_number"],
                "attempts": contact.get("callback_attempts") or 0,
                "requested_at": contact.get("callback_requested_at"),
            }
        config = self.desk.ctx.config
        card["wrap_up_codes"] = list(config.wrap_up_codes_of(contact["queue"]))
        card["wrap_up_code_required"] = config.wrap_up_code_required(contact["queue"])
        customer_id = contact.get("customer_id") or ""
        if customer_id:
            contexts = await self.desk.customer_contexts({customer_id})
            context = contexts.get(customer_id, {"id": customer_id})
            history = [h for h in context.get("history", []) if h["contact_id"] != contact_id]
            card["customer"] = {**context, "history": history[:HISTORY]}
        if contact.get("channel") != Channel.VOICE.value:
            card["messages"] = (await self.messages.read(contact_id, limit=CARD_MESSAGES))[
                -CARD_MESSAGES:
            ]
        return card

    async def desk_of(self, agent_id: str) -> dict[str, Any]:
        """The agent (presence, reason, capacity) and a card for each contact it holds."""
        view = await self.desk.view(agent_id)
        cards = []
        for item in view["work"]:
            card = await self.card(item["contact_id"])
            if card is not None and card.get("state") == item["state"]:
                cards.append(card)
        agent = {name: value for name, value in view.items() if name != "work"}
        return {"agent": agent, "work": cards}
