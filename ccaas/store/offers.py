"""Offers in Redis: claim (commit a planned offer), accept, reject, ring-out and withdrawal."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog
from redis.asyncio.client import Pipeline

from ..domain.eligibility import capacity_limit
from ..domain.models import AgentView
from ..domain.policy import PlannedOffer
from ..domain.rules.compiled import CompiledRules
from ..errors import Conflict, InvalidInput, NotFound
from .context import StoreContext
from .keys import contact_of_offer
from .relaxations import CONTACT_CHANGES_KEPT
from .scripts import Reply, execute_scripts

log = structlog.get_logger("ccaas.offers")
CLAIMS_PER_CALL = 100  # keeps each script short, so Redis never blocks long


@dataclass(frozen=True, slots=True)
class ClaimResult:
    planned: PlannedOffer
    offer_id: str | None
    refused: str | None
    agent_change_before: int
    agent_change_after: int
    at_ms: int
    contact_change: int = 0  # the contact's sequence in the contact changes zset after it


def _log_requeue(
    why: str, offer_id: str, contact_id: str, agent_id: str, queue: str, presence: str
) -> None:
    """offer_rejected, offer_timed_out (a ring-out) or offer_withdrawn; and agent_set_away
    when that ring-out was the agent's last allowed miss."""
    ids = {"contact_id": contact_id, "agent_id": agent_id, "queue": queue}
    log.info(f"offer_{why}", offer_id=offer_id, **ids)
    if why == "timed_out" and presence == "away":
        log.info("agent_set_away", reason="no answer", agent_id=agent_id, queue=queue)


def _not_pending(offer_id: str, agent_id: str) -> Conflict:
    """The refusal of an answer to an offer that is not ringing for this agent: it rang out,
    was withdrawn or answered, or rings for someone else (which is not told apart)."""
    return Conflict(
        f"offer {offer_id!r} is not ringing for agent {agent_id!r}: it was answered, rang out "
        "or was withdrawn",
        offer_id=offer_id,
        agent_id=agent_id,
    )


def _refusal(reply: Reply, offer_id: str, agent_id: str) -> NotFound | Conflict:
    """An answer's refusal: an offer never made (404), or one no longer ringing for this
    agent (409)."""
    if reply.reason == "no_such_offer":
        return NotFound(f"no offer {offer_id!r}", offer_id=offer_id)
    return _not_pending(offer_id, agent_id)


class OfferRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def claim_many(
        self,
        planned: Sequence[PlannedOffer],
        agents: Mapping[str, AgentView],
        router: str = "",
        rules: CompiledRules | None = None,
        now_ms: int | None = None,
        clear_wake: bool = False,
    ) -> list[ClaimResult]:
        """Commit planned offers in one round trip; each is re-checked atomically by Redis.

        `agents` are the views the offers were planned with, under `rules` (default: the
        rules in force) at `now_ms` (default: now): the claim is refused if either has
        changed since. `clear_wake` clears the wake-up flag first, in the same round trip.
        """
        if not planned:
            return []
        rules = rules or self.ctx.rules
        keys = self.ctx.keys
        now = self.ctx.clock.now_ms() if now_ms is None else now_ms
        head_keys = [
            keys.offer_deadlines,
            keys.agent_changes,
            keys.events,
            keys.rules_active,
            keys.contact_changes,
            keys.wake_pending,
        ]
        head_args: list[str | int] = [
            now,
            rules.config.exclusive_channels(),
            router,
            rules.version,
        ]
        queues = rules.config.queues
        chunks = [planned[i : i + CLAIMS_PER_CALL] for i in range(0, len(planned), CLAIMS_PER_CALL)]
        calls: list[tuple[list[str], list[str | int]]] = []
        for chunk in chunks:
            call_keys = list(head_keys)
            clear = "1" if clear_wake and not calls else ""
            call_args = [*head_args, secrets.token_hex(4), CONTACT_CHANGES_KEPT, clear]
            for offer in chunk:
                call_keys += [
                    keys.contact(offer.contact_id),
                    keys.queue_waiting(offer.queue),
                    keys.queue_arrivals(offer.queue),
                    keys.agent(offer.agent_id),
                    keys.agent_work(offer.agent_id),
                ]
                timeout_ms = int(queues[offer.queue].offer_timeout_seconds * 1000)
                agent = agents[offer.agent_id]
                serves = offer.queue in agent.queues
                call_args += [
                    offer.contact_id,
                    offer.queue,
                    offer.agent_id,
                    now + timeout_ms,
                    agent.revision,
                    agent.membership(offer.queue).delay_ms if serves else -1,
                    capacity_limit(agent, offer.channel, rules.channel_rules),
                    agent.max_total,
                    0
                    if offer.despite_reject
                    else int(queues[offer.queue].reject_cooldown_seconds * 1000),
                ]
            calls.append((call_keys, call_args))

        async def fill(pipe: Pipeline) -> None:
            for call_keys, call_args in calls:
                await self.ctx.scripts.claim(keys=call_keys, args=call_args, client=pipe)

        if len(calls) == 1:  # the router's case: one call, no pipeline to build
            replies = [await self.ctx.scripts.claim(keys=calls[0][0], args=calls[0][1])]
        else:
            replies = await execute_scripts(self.ctx.redis, fill)
        results: list[ClaimResult] = []
        for chunk, answer in zip(chunks, replies, strict=True):
            for offer, reply in zip(chunk, Reply.batch(answer), strict=True):
                offer_id, before, after, seen = reply.values if reply.ok else (None, 0, 0, 0)
                results.append(
                    ClaimResult(
                        offer, offer_id, reply.reason, int(before), int(after), now, int(seen)
                    )
                )
        return results

    async def pending(self, offer_id: str) -> tuple[str, dict[str, str]]:
        """The contact an offer id names, and its hash; NotFound for an unknown contact."""
        try:
            contact_id = contact_of_offer(offer_id)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="offer_id") from exc
        raw: dict[str, str] = await self.ctx.redis.hgetall(self.ctx.keys.contact(contact_id))
        if not raw:
            raise NotFound(f"no offer {offer_id!r}", offer_id=offer_id)
        return contact_id, raw

    async def accept(self, offer_id: str, agent_id: str, contact_id: str, customer_id: str) -> None:
        """`agent_id` takes the offer ringing for it (again: a no-op); `customer_id` (the
        contact's customer now, "" if none) gets that agent as its last agent."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.accept(
            keys=[
                keys.contact(contact_id),
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.offer_deadlines,
                keys.agent_changes,
                keys.events,
                keys.customer(customer_id or "-"),
                keys.customer_agents(customer_id or "-"),
            ],
            args=[offer_id, contact_id, agent_id, self.ctx.clock.now_ms()],
        )
        reply = Reply.decode(answer)
        if not reply.ok:
            raise _refusal(reply, offer_id, agent_id)

    async def _requeue(self, offer_id: str, contact_id: str, agent_id: str, why: str) -> Reply:
        keys = self.ctx.keys
        queue = await self.ctx.redis.hget(keys.contact(contact_id), "queue") or ""
        spec = self.ctx.rules.queue_specs.get(queue)
        cooldown_ms = int(spec.reject_cooldown_seconds * 1000) if spec else 0
        answer = await self.ctx.scripts.requeue_offer(
            keys=[
                keys.contact(contact_id),
                keys.queue_waiting(queue),
                keys.queue_arrivals(queue),
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.offer_deadlines,
                keys.agents_available,
                keys.agent_changes,
                keys.events,
                keys.wake_pending,
                keys.contact_changes,
            ],
            args=[
                offer_id,
                contact_id,
                agent_id,
                self.ctx.clock.now_ms(),
                why,
                self.ctx.config.max_missed_offers,
                keys.wake_channel,
                cooldown_ms,
                CONTACT_CHANGES_KEPT,
            ],
        )
        reply = Reply.decode(answer)
        if reply.ok and reply.values[1:2] == ("ended",):
            _log_requeue(why, offer_id, contact_id, agent_id, queue, str(reply.values[0]))
        return reply

    async def reject(self, offer_id: str, agent_id: str) -> str:
        """`agent_id` declines the offer ringing for it (again: a no-op); the contact waits
        again in its old place. Returns the contact id."""
        contact_id, _ = await self.pending(offer_id)
        result = await self._requeue(offer_id, contact_id, agent_id, "rejected")
        if not result.ok:
            raise _refusal(result, offer_id, agent_id)
        return contact_id

    async def withdraw_for(self, contact_id: str, agent_id: str) -> bool:
        offer_id = await self.ctx.redis.hget(self.ctx.keys.contact(contact_id), "offer_id")
        if not offer_id:
            return False
        result = await self._requeue(offer_id, contact_id, agent_id, "withdrawn")
        return result.ok

    async def expire_due(self, limit: int = 500) -> int:
        """Requeue every offer that rang out; returns how many did."""
        keys = self.ctx.keys
        due: list[str] = await self.ctx.redis.zrangebyscore(
            keys.offer_deadlines, "-inf", self.ctx.clock.now_ms(), start=0, num=limit
        )
        expired = 0
        for offer_id in due:
            try:
                contact_id = contact_of_offer(offer_id)
            except ValueError:
                contact_id = ""
            agent_id = await self.ctx.redis.hget(keys.contact(contact_id), "agent_id") or ""
            result = await self._requeue(offer_id, contact_id, agent_id, "timed_out")
            if result.ok:
                expired += 1
                if result.values[0] == "away":  # that ring-out made the agent "no answer"
                    await self._withdraw_all(agent_id)
            elif result.reason != "offer_not_due":
                # accepted, abandoned, requeued meanwhile, or corrupt: the deadline is stale
                await self.ctx.redis.zrem(keys.offer_deadlines, offer_id)
        return expired

    async def _withdraw_all(self, agent_id: str) -> None:
        work = await self.ctx.redis.hgetall(self.ctx.keys.agent_work(agent_id))
        for contact_id, entry in work.items():
            if entry.startswith("offered:"):
                await self.withdraw_for(contact_id, agent_id)
