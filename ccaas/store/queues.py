"""Live queue figures from Redis: waiting, oldest wait, agents logged in and available, EWT."""

from __future__ import annotations

from typing import Any

from ..domain.models import Presence
from ..domain.rules.facts import QueueStats, expected_wait_seconds
from ..errors import NotFound
from .context import StoreContext
from .records.agent import AgentRecord

_STAFFING_FIELDS = ("presence", "profile", "queues")


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

    async def stats(self, only: str | None = None) -> list[dict[str, Any]]:
        config = self.ctx.config
        if only is not None and only not in config.queues:
            raise NotFound(f"no queue {only!r}", queue=only)
        result = []
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
                }
            )
        return result
