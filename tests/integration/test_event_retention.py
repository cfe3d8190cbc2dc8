"""The event stream is bounded: about events_max_len events, none past the time horizon; and
its `ts` resolves microseconds while a manual clock still sets it."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock, SystemClock
from ccaas.runtime.retention import DAY_MS, trim_once
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from tests.helpers import TEST_CONFIG, MakeApi


async def _agents(ctx: StoreContext, prefix: str, count: int) -> None:
    repo = AgentRepository(ctx)
    for i in range(count):
        await repo.upsert(f"{prefix}{i}", AgentProfile(f"{prefix}{i}"))


async def _event_agents(ctx: StoreContext) -> list[str]:
    return [fields.get("agent", "") for _, fields in await ctx.redis.xrange(ctx.keys.events)]


def _real_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_the_stream_keeps_about_events_max_len_events_and_the_newest(redis: Redis) -> None:
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, ManualClock(), events_max_len=100)
    await _agents(ctx, "a", 1000)
    kept = await _event_agents(ctx)
    assert 100 <= len(kept) <= 200  # `~`: Redis trims whole nodes of 100 entries
    assert kept[-1] == "a999"


async def test_events_older_than_the_horizon_are_trimmed_and_recent_ones_kept(
    redis: Redis,
) -> None:
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, ManualClock())
    await _agents(ctx, "old", 5)
    await asyncio.sleep(0.005)
    horizon = _real_ms()
    await asyncio.sleep(0.005)
    await _agents(ctx, "new", 5)
    # a week after `horizon` by the engine's clock: what came before it is past a 7-day horizon
    later = StoreContext.create(redis, "t1", TEST_CONFIG, ManualClock(horizon + 7 * DAY_MS))
    assert await trim_once(later, 7 * DAY_MS) == 5
    assert await _event_agents(ctx) == [f"new{i}" for i in range(5)]


async def test_the_engine_trims_past_the_horizon_when_it_starts(
    redis: Redis, make_api: MakeApi
) -> None:
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, ManualClock())
    await _agents(ctx, "old", 3)
    await make_api(clock=ManualClock(_real_ms() + DAY_MS), events_max_age_ms=DAY_MS // 2)
    for _ in range(100):
        if not [a for a in await _event_agents(ctx) if a.startswith("old")]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the old events are still there")


async def test_event_times_resolve_microseconds_on_the_system_clock(redis: Redis) -> None:
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, SystemClock())
    before = time.time_ns() // 1000
    await _agents(ctx, "a", 20)
    after = time.time_ns() // 1000
    stamps = [int(f["ts"]) for _, f in await redis.xrange(ctx.keys.events)]
    assert all(before - 1000 <= ts <= after + 1000 for ts in stamps)
    assert stamps == sorted(stamps)
    assert any(ts % 1000 for ts in stamps)  # not whole milliseconds


async def test_a_manual_clock_sets_event_times(redis: Redis) -> None:
    clock = ManualClock(1_700_000_000_123)
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, clock)
    await _agents(ctx, "a", 1)
    clock.advance(0.5)
    await _agents(ctx, "b", 1)
    stamps = [int(f["ts"]) for _, f in await redis.xrange(ctx.keys.events)]
    assert stamps == [1_700_000_000_123_000, 1_700_000_000_623_000]
