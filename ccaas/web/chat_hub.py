"""The web-chat customers this replica holds: each one's conversation, fed from the tenant's
event stream (the agent hub's read of it), and each waiting one's place, looked at every
couple of seconds and sent when it changed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSCloseCode, web

from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from ..store.queues import Place, QueueRepository

log = structlog.get_logger("ccaas.chat")
PLACE_SECONDS = 2.0
Frame = dict[str, Any]
ENDED = {"contact_completed": "completed", "contact_handled": "completed",
         "contact_abandoned": "abandoned", "contact_erased": "erased"}  # fmt: skip


@dataclass(eq=False)
class Customer:
    """One customer's chat window on this replica."""

    contact_id: str
    socket: web.WebSocketResponse
    events: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)
    place: Place | None = None

    async def send(self, frame: Frame) -> None:
        if not self.socket.closed:
            await self.socket.send_str(json.dumps(frame, separators=(",", ":")))


class ChatHub:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.customers: dict[str, set[Customer]] = {}
        self.contacts = ContactRepository(ctx)
        self.messages = MessageRepository(ctx)
        self.agents = AgentRepository(ctx)
        self.queues = QueueRepository(ctx)
        self._senders: dict[Customer, asyncio.Task[None]] = {}

    def start(self, supervise: Callable[[str, Callable[[], Awaitable[None]]], None]) -> None:
        supervise("chat_places", self._places)

    def hear(self, event_id: str, fields: dict[str, str]) -> None:
        """An event of the tenant's stream: handed to the customers of its contact here."""
        for customer in self.customers.get(fields.get("contact", ""), ()):
            customer.events.put_nowait(fields)

    def join(self, customer: Customer) -> None:
        self.customers.setdefault(customer.contact_id, set()).add(customer)
        self._senders[customer] = asyncio.create_task(self._send_events(customer))

    def leave(self, customer: Customer) -> None:
        sender = self._senders.pop(customer, None)
        if sender is not None:
            sender.cancel()
        held = self.customers.get(customer.contact_id)
        if held is not None:
            held.discard(customer)
            if not held:
                del self.customers[customer.contact_id]

    async def close_all(self) -> None:
        for held in list(self.customers.values()):
            for customer in list(held):
                with contextlib.suppress(Exception):
                    await customer.socket.close(
                        code=WSCloseCode.GOING_AWAY, message=b"server stops"
                    )

    # --- what the customer sees --------------------------------------------------------------
    async def snapshot(self, customer: Customer) -> Frame:
        raw = await self.contacts.raw(customer.contact_id)
        places = await self.queues.positions()
        customer.place = places.get(customer.contact_id)
        return {
            "type": "snapshot",
            "state": raw.get("state", ""),
            "agent": await self._agent(raw),
            **_place(customer.place),
            "messages": [  # the newest, as the customer saw them (no system notes)
                await self._shown(customer, m)
                for m in await self.messages.latest(customer.contact_id)
                if m.get("from") != "system"
            ],
        }

    async def _agent(self, raw: dict[str, str]) -> dict[str, str] | None:
        if raw.get("state") not in ("connected", "wrap_up") or not raw.get("agent_id"):
            return None
        name = await self.ctx.redis.hget(self.ctx.keys.agent(raw["agent_id"]), "name")
        return {"name": str(name or "an agent")}

    async def _shown(self, customer: Customer, message: dict[str, Any]) -> Frame:
        """A message as the customer sees it (no agent id; the agent's message is marked
        delivered once it is on the customer's screen)."""
        shown: Frame = {k: message[k] for k in ("id", "from", "text", "at") if k in message}
        if message.get("from") == "agent" and message.get("delivery") in ("queued", "sent"):
            with contextlib.suppress(Exception):
                await self.messages.mark_delivery(customer.contact_id, message["id"], "delivered")
        return shown

    async def _send_events(self, customer: Customer) -> None:
        while True:
            fields = await customer.events.get()
            try:
                for frame in await self._frames(customer, fields):
                    await customer.send(frame)
            except (ConnectionError, RuntimeError):
                return
            except Exception:  # Redis away: the customer reconnects and gets a snapshot
                log.warning("chat_frame_failed", contact_id=customer.contact_id, exc_info=True)
                with contextlib.suppress(Exception):
                    await customer.socket.close(code=WSCloseCode.TRY_AGAIN_LATER)
                return

    async def _frames(self, customer: Customer, fields: dict[str, str]) -> list[Frame]:
        kind = fields.get("type", "")
        if kind == "message_posted":
            message = await self.messages.one(customer.contact_id, fields.get("message", ""))
            if message is None or message.get("from") == "system":
                return []
            return [{"type": "message", "message": await self._shown(customer, message)}]
        if kind == "contact_connected":
            raw = await self.contacts.raw(customer.contact_id)
            return [{"type": "connected", "agent": await self._agent(raw)}]
        if kind in ("contact_queued", "offer_rejected", "offer_timed_out", "offer_withdrawn"):
            return [{"type": "waiting"}]
        if kind in ENDED:
            return [{"type": "ended", "reason": ENDED[kind]}]
        return []

    async def _places(self) -> None:
        """Each waiting customer's place, sent when it changed."""
        while True:
            await asyncio.sleep(PLACE_SECONDS)
            if not self.customers:
                continue
            places = await self.queues.positions()
            for contact_id, held in list(self.customers.items()):
                place = places.get(contact_id)
                for customer in list(held):
                    if place is not None and place != customer.place:
                        customer.place = place
                        with contextlib.suppress(Exception):
                            await customer.send({"type": "position", **_place(place)})


def _place(place: Place | None) -> Frame:
    if place is None:
        return {"position": None, "ewt_seconds": None}
    return {"position": place.position, "ewt_seconds": place.ewt_seconds}
