"""Live queue figures from Redis: waiting, oldest wait, agents logged in and available, EWT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.models import Presence
from ..domain.rules.facts import QueueStats, expected_wait_seconds
from ..errors import NotFound
from .context import StoreContext
from .records.agent import AgentRecord

_STAFFING_FIELDS = ("presence", "profile", "queues")


@dataclass(frozen=True, slots=True)
class Place:
    """A waiting contact's place: its queue, position (1: next) and estimated wait."""

    queue: str
    position: int
    ewt_seconds: int | None


class QueueRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def waiting_counts(self) -> dict[str, int]:
        """How many contacts wait in each queue of the rules in force."""
        names = sorted(self.ctx.rules.config.queues)
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zcard(self.ctx.keys.queue_waiting(name))
            counts = await pipe.execute()
        return dict(zip(names, counts, strict=True))

    async def live_stats(self, only: str | None = None) -> dict[str, QueueStats]:
        rules, keys, redis = self.ctx.rules, self.ctx.keys, self.ctx.redis
        names = [only] if only else sorted(rules.config.queues)
        now = self.ctx.clock.now_ms()
        agent_ids = sorted(await redis.smembers(keys.agents))
        async with redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zcard(keys.queue_waiting(name))
                pipe.zrange(keys.queue_arrivals(name), 0, 0, withscores=True)
            for agent_id in agent_ids:
                pipe.hmget(keys.agent(agent_id), *_STAFFING_FIELDS)
            replies = await pipe.execute()
        logged_in: dict[str, int] = {}
        available: dict[str, int] = {}
        staffing: dict[str, int] = {}  # available or in wrap-up: what the EWT counts
        for row in replies[2 * len(names) :]:
            found = {k: v for k, v in zip(_STAFFING_FIELDS, row, strict=True) if v is not None}
            agent = AgentRecord.decode(found, {})
            if not agent.logged_in:
                continue
            for name in rules.memberships(agent.profile, agent.own_queues):
                logged_in[name] = logged_in.get(name, 0) + 1
                if agent.presence is Presence.AVAILABLE:
                    available[name] = available.get(name, 0) + 1
                if agent.presence in (Presence.AVAILABLE, Presence.WRAP_UP):
                    staffing[name] = staffing.get(name, 0) + 1
        result = {}
        for i, name in enumerate(names):
            waiting, oldest = replies[2 * i], replies[2 * i + 1]
            staffed = staffing.get(name, 0)
            result[name] = QueueStats(
                name=name,
                waiting=waiting,
                oldest_wait_seconds=round((now - oldest[0][1]) / 1000, 3) if oldest else 0.0,
                agents_logged_in=logged_in.get(name, 0),
                agents_available=available.get(name, 0),
                ewt_seconds=expected_wait_seconds(
                    waiting, staffed, rules.config.queues[name].expected_handle_seconds
                ),
                open=rules.is_open(name, now),
                ewt_known=staffed > 0,
            )
        return result

    async def positions(self) -> dict[str, Place]:
        """Where every waiting contact stands: its place in its queue (1: next) and the
        wait that the queue's estimate gives that place (None while nobody staffs it)."""
        names = sorted(self.ctx.rules.config.queues)
        stats = await self.live_stats()
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrange(self.ctx.keys.queue_waiting(name), 0, -1)
            waiting: list[list[str]] = await pipe.execute()
        places = {}
        for name, ids in zip(names, waiting, strict=True):
            live = stats[name]
            for rank, contact_id in enumerate(ids):
                # the queue's EWT is for the next arrival (waiting + 1 ahead of it): share it
                ewt = live.ewt_seconds * (rank + 1) / (live.waiting + 1) if live.ewt_known else None
                places[contact_id] = Place(name, rank + 1, None if ewt is None else round(ewt))
        return places

    async def callbacks(self) -> dict[tuple[str, str], int]:
        """How many callbacks (customers who left the line) wait, and how many are scheduled
        to be tried again, per (queue, "queued" | "scheduled")."""
        keys = self.ctx.keys
        ids = list(dict.fromkeys(await self.ctx.redis.hvals(keys.callbacks)))
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for contact_id in ids:
                pipe.hmget(keys.contact(contact_id), "state", "queue", "callback_number")
            rows = await pipe.execute()
        counts: dict[tuple[str, str], int] = {}
        for state, queue, number in rows:
            if state in ("queued", "scheduled") and number:
                counts[(queue, state)] = counts.get((queue, state), 0) + 1
        return counts

    async def stats(self, only: str | None = None) -> list[dict[str, Any]]:
        config = self.ctx.config
        if only is not None and only not in config.queues:
            raise NotFound(f"no queue {only!r}", queue=only)
        result = []
        callbacks = await self.callbacks()
        for name, live in (await self.live_stats(only)).items():
            queue = config.queues[name]
            result.append(
                {
                    "name": name,
                    "channels": [ch.value for ch in queue.channels],
                    "strategy": queue.strategy.value,
                    "sla_seconds": queue.sla_seconds,
                    "offer_timeout_seconds": queue.offer_timeout_seconds,
                    "wrap_up_seconds": queue.wrap_up_seconds,
                    "max_size": queue.max_size,
                    "hours": queue.hours,
                    **live.as_vars(),
                    # nobody staffing: unknown, not a number a caller could show as a wait
                    "ewt_seconds": live.ewt_seconds if live.ewt_known else None,
                    # of the waiting: customers who left the line to be called back
                    "callbacks_waiting": callbacks.get((name, "queued"), 0),
                    # not answered (or busy): they wait out of the queue to be tried again
                    "callbacks_scheduled": callbacks.get((name, "scheduled"), 0),
                }
            )
        return result
