"""Stopping the engine stops every duty, whenever the stop lands (a deploy never waits on it)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.runtime.engine import Engine
from tests.helpers import TEST_CONFIG


@pytest.mark.parametrize("after_ms", [0, 1, 2, 3, 5, 8, 13, 21])
async def test_every_duty_has_ended_when_stop_returns(
    redis_server: EmbeddedRedis, redis: Redis, after_ms: int
) -> None:
    engine = Engine(redis_server.url, TEST_CONFIG, tenant="t1", run_router=True)
    await engine.start()
    duties = engine.duties
    await asyncio.sleep(after_ms / 1000)  # the stop lands while the duties read from Redis
    await engine.stop()
    assert [d.get_name() for d in duties if not d.done()] == []
