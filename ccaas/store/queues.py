"""Live queue figures from Redis: waiting, oldest wait, available agents that serve it."""

from __future__ import annotations

import json
from typing import Any

from ..errors import NotFound
from .context import StoreContext


class QueueRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def stats(self, only: str | None = None) -> list[dict[str, Any]]:
        config, keys, redis = self.ctx.config, self.ctx.keys, self.ctx.redis
        if only is not None and only not in config.queues:
            raise NotFound(f"no queue {only!r}", queue=only)
        names = [only] if only else sorted(config.queues)
        now = self.ctx.clock.now_ms()
        available = sorted(await redis.smembers(keys.agents_available))
        async with redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zcard(keys.queue_waiting(name))
                pipe.zrange(keys.queue_arrivals(name), 0, 0, withscores=True)
            for agent_id in available:
                pipe.hget(keys.agent(agent_id), "queues")
            replies = await pipe.execute()
        served: dict[str, int] = {}
        for queues_json in replies[2 * len(names) :]:
            for name in json.loads(queues_json or "[]"):
                served[name] = served.get(name, 0) + 1
        result = []
        for i, name in enumerate(names):
            waiting, oldest = replies[2 * i], replies[2 * i + 1]
            queue = config.queues[name]
            result.append(
                {
                    "name": name,
                    "channels": [ch.value for ch in queue.channels],
                    "strategy": queue.strategy.value,
                    "sla_seconds": queue.sla_seconds,
                    "offer_timeout_seconds": queue.offer_timeout_seconds,
                    "wrap_up_seconds": queue.wrap_up_seconds,
                    "waiting": waiting,
                    "oldest_wait_seconds": round((now - oldest[0][1]) / 1000, 3) if oldest else 0,
                    "agents_available": served.get(name, 0),
                }
            )
        return result
