"""Redis's files on disk: rewriting the AOF (and an RDB snapshot) once erased data is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis import exceptions
from redis.asyncio import Redis

from .context import StoreContext

POLL_SECONDS = 0.05  # how often a running rewrite is looked at


class RewriteRefused(Exception):
    """The server will not rewrite its files for us (a renamed command, an ACL, a managed
    service); the reason is Redis's own words. Only the rewrite duty sees it, never an API
    caller, so it is no CcaasError."""


@dataclass(frozen=True, slots=True)
class Persistence:
    """What INFO persistence says about the server's files."""

    aof_enabled: bool
    aof_busy: bool  # a rewrite is running or scheduled
    aof_last_ok: bool
    rdb_busy: bool
    rdb_last_ok: bool

    @classmethod
    def parse(cls, info: dict[str, Any]) -> Persistence:
        return cls(
            aof_enabled=int(info.get("aof_enabled", 0)) == 1,
            aof_busy=int(info.get("aof_rewrite_in_progress", 0)) == 1
            or int(info.get("aof_rewrite_scheduled", 0)) == 1,
            aof_last_ok=info.get("aof_last_bgrewrite_status", "ok") == "ok",
            rdb_busy=int(info.get("rdb_bgsave_in_progress", 0)) == 1,
            rdb_last_ok=info.get("rdb_last_bgsave_status", "ok") == "ok",
        )


async def persistence(redis: Redis) -> Persistence:
    try:
        return Persistence.parse(await redis.info("persistence"))
    except exceptions.ResponseError as exc:
        raise RewriteRefused(str(exc)) from exc


async def erasures_pending(ctx: StoreContext) -> int:
    """Customers erased since the files were last rewritten (erase_customer.lua counts)."""
    return int(await ctx.redis.get(ctx.keys.erasures_pending) or 0)


async def take_erasures(ctx: StoreContext) -> int:
    """Claim the erasures counted so far for one rewrite (GETDEL: one replica gets them)."""
    return int(await ctx.redis.getdel(ctx.keys.erasures_pending) or 0)


async def give_back_erasures(ctx: StoreContext, count: int) -> None:
    """A rewrite that did not happen: the erasures it claimed wait for the next one."""
    await ctx.redis.incrby(ctx.keys.erasures_pending, count)


async def rdb_snapshots_configured(redis: Redis) -> bool | None:
    """Whether the server saves RDB snapshots (`save` points); None if it will not say."""
    try:
        config: dict[str, str] = await redis.config_get("save")
    except exceptions.ResponseError:
        return None
    return bool(config.get("save", "").strip())


async def rewrite_aof(redis: Redis) -> None:
    """Rewrite the append-only file from the data as it is now, and wait until it is done.

    A rewrite already running started from older data: wait for it, then start ours.
    """
    await _run_after_busy(redis, _start_aof_rewrite, lambda p: p.aof_busy)
    if not (await persistence(redis)).aof_last_ok:
        raise RewriteRefused("the AOF rewrite failed; see the Redis log")


async def save_snapshot(redis: Redis) -> None:
    """Write a new RDB snapshot (replacing the old one) and wait until it is done."""
    await _run_after_busy(redis, _start_snapshot, lambda p: p.rdb_busy)
    if not (await persistence(redis)).rdb_last_ok:
        raise RewriteRefused("the RDB snapshot failed; see the Redis log")


async def _run_after_busy(
    redis: Redis,
    start: Callable[[Redis], Awaitable[bool]],
    busy: Callable[[Persistence], bool],
) -> None:
    """`start` a background job, after the one of its kind already running (if any)."""
    while not await start(redis):
        await _until_idle(redis, busy)
    await _until_idle(redis, busy)


async def _until_idle(redis: Redis, busy: Callable[[Persistence], bool]) -> None:
    # Redis tells no one when a background job ends: INFO is asked until it says so
    while busy(await persistence(redis)):  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)


async def _start_aof_rewrite(redis: Redis) -> bool:
    """True if a rewrite starts now or is scheduled (after a running snapshot); False if
    one is already running."""
    try:
        await redis.bgrewriteaof()
    except exceptions.ResponseError as exc:
        if "already in progress" in str(exc):
            return False
        raise RewriteRefused(str(exc)) from exc
    return True


async def _start_snapshot(redis: Redis) -> bool:
    try:
        await redis.bgsave(schedule=True)
    except exceptions.ResponseError as exc:
        if "already in progress" in str(exc):
            return False
        raise RewriteRefused(str(exc)) from exc
    return True
