"""Callbacks: a waiting customer leaves the line and keeps their place; the agent calls back."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.rules.schema import CallbackConfig
from ..errors import Conflict, CustomerErased, InvalidInput, NotFound
from .context import StoreContext
from .relaxations import CONTACT_CHANGES_KEPT
from .scripts import Reply

ATTEMPTS = 3  # a read that found the callbacks hash changed is tried this often


OUTCOMES = ("reached", "no_answer", "busy", "invalid")


@dataclass(frozen=True, slots=True)
class Outcome:
    scheduled: bool  # it will be tried again (it left the agent)
    attempts: int  # calls made so far
    due_at: int | None  # when it waits in its queue again (ms)


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

    async def outcome(self, contact_id: str, agent_id: str, outcome: str) -> Outcome:
        """The agent holding a callback says how the call went; a no-answer or busy with
        attempts left schedules it again (the queue's callback.retry_delay_seconds)."""
        if outcome not in OUTCOMES:
            raise InvalidInput(
                f"outcome {outcome!r} is none of {', '.join(OUTCOMES)}", field="outcome"
            )
        keys, redis = self.ctx.keys, self.ctx.redis
        queue = await redis.hget(keys.contact(contact_id), "queue")
        if queue is None:
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        config = self.ctx.config.queues.get(queue)
        policy = config.callback if config is not None else CallbackConfig()
        now = self.ctx.clock.now_ms()
        answer = await self.ctx.scripts.callback_outcome(
            keys=[
                keys.contact(contact_id),
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.callbacks_due,
                keys.agent_changes,
                keys.events,
                keys.agents_available,
            ],
            args=[
                contact_id,
                agent_id,
                outcome,
                now,
                now + int(policy.retry_delay_seconds * 1000),
                policy.max_attempts,
            ],
        )
        reply = Reply.decode(answer)
        if reply.ok:
            scheduled = reply.values[0] == "scheduled"
            due = now + int(policy.retry_delay_seconds * 1000) if scheduled else None
            return Outcome(scheduled, int(reply.values[1]), due)
        if reply.reason == "not_a_callback":
            raise Conflict(
                "this contact is no callback: it has no outcome", reason="not_a_callback"
            )
        raise Conflict(
            "only the agent connected to the callback reports its outcome",
            reason="not_connected",
            contact_id=contact_id,
        )

    async def release_due(self, limit: int = 200) -> int:
        """Put the callbacks due by now back in their queues; how many went."""
        keys, redis = self.ctx.keys, self.ctx.redis
        now = self.ctx.clock.now_ms()
        due = await redis.zrangebyscore(keys.callbacks_due, "-inf", now, start=0, num=limit)
        released = 0
        for contact_id in due:
            queue = await redis.hget(keys.contact(contact_id), "queue") or ""
            answer = await self.ctx.scripts.release_callback(
                keys=[
                    keys.contact(contact_id),
                    keys.callbacks_due,
                    keys.queue_waiting(queue),
                    keys.queue_arrivals(queue),
                    keys.contact_changes,
                    keys.events,
                    keys.wake_pending,
                ],
                args=[contact_id, now, queue, keys.wake_channel, CONTACT_CHANGES_KEPT],
            )
            released += Reply.decode(answer).ok
        return released
