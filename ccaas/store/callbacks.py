"""Callbacks: a waiting customer leaves the line and keeps their place; the agent calls back."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Conflict, CustomerErased, NotFound
from .context import StoreContext
from .scripts import Reply

ATTEMPTS = 3  # a read that found the callbacks hash changed is tried this often


@dataclass(frozen=True, slots=True)
class Callback:
    contact_id: str  # the callback's contact: this one, or the earlier one for the number
    created: bool  # False: it was a callback already (or an earlier one was returned)


class CallbackRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def request(self, contact_id: str, number: str) -> Callback:
        """Mark a waiting contact a callback to `number` (E.164), keeping its place; the
        number's callback still active in the queue is returned instead, if there is one."""
        keys = self.ctx.keys
        for _ in range(ATTEMPTS):
            queue = await self.ctx.redis.hget(keys.contact(contact_id), "queue")
            if queue is None:
                raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
            earlier = await self.ctx.redis.hget(keys.callbacks, f"{queue}|{number}") or ""
            answer = await self.ctx.scripts.request_callback(
                keys=[
                    keys.contact(contact_id),
                    keys.callbacks,
                    keys.events,
                    keys.contact(earlier or contact_id),
                ],
                args=[contact_id, number, self.ctx.clock.now_ms(), earlier],
            )
            reply = Reply.decode(answer)
            if reply.ok:
                return Callback(str(reply.values[0]), reply.values[1] == "1")
            if reply.reason == "no_contact":
                raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
            if reply.reason == "customer_erased":
                raise CustomerErased(
                    "the contact's customer was erased: it takes no callback number",
                    contact_id=contact_id,
                )
            if reply.reason == "not_waiting":
                raise Conflict(
                    "only a waiting contact becomes a callback (this one rings, is held or ended)",
                    reason="not_waiting",
                    contact_id=contact_id,
                )
        raise Conflict("the queue's callbacks kept changing; try again", contact_id=contact_id)
