"""Watches Redis for this process: one log event per outage and recovery, caches renewed
when it returns, and a Redis that came back without our data set up again."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import structlog
from redis.exceptions import NoPermissionError

from ..store.client import is_outage
from ..store.context import StoreContext
from ..store.health import RedisState

log = structlog.get_logger("ccaas.redis")
TICK_SECONDS = 0.25
ANSWER_SECONDS = 0.5  # a Redis that takes longer to answer a GET is stalled
WAIT_RETRY_SECONDS = 0.5
WAIT_LOG_EVERY_SECONDS = 30.0


def shown_url(url: str) -> str:
    """The Redis URL for a log line, without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


async def claim_epoch(ctx: StoreContext) -> tuple[str, bool]:
    """The tenant's epoch token, and whether this call wrote it (Redis held none: a first
    start, or a Redis that lost the data)."""
    written = bool(await ctx.redis.set(ctx.keys.epoch, secrets.token_hex(8), nx=True))
    epoch: str | None = await ctx.redis.get(ctx.keys.epoch)
    return epoch or "", written


async def wait_for_redis(url: str, attempt: Callable[[], Awaitable[None]]) -> None:
    """Run `attempt` until Redis lets it finish: a replica started before its Redis waits,
    with one log line when it starts waiting (and one every 30 s), not a crash."""
    loop = asyncio.get_running_loop()
    started, last_said = loop.time(), 0.0
    while True:
        try:
            await attempt()
        except Exception as exc:
            if not is_outage(exc):
                raise
            if not last_said or loop.time() - last_said >= WAIT_LOG_EVERY_SECONDS:
                last_said = loop.time()
                log.warning(
                    "waiting_for_redis",
                    redis=shown_url(url),
                    error=str(exc) or type(exc).__name__,
                    waited_seconds=round(last_said - started, 1),
                )
            await asyncio.sleep(WAIT_RETRY_SECONDS)
            continue
        if last_said:
            log.info("redis_reachable", waited_seconds=round(loop.time() - started, 1))
        return


class RedisWatcher:
    """Looks at Redis every TICK_SECONDS and keeps ctx.health true.

    `set_up_again` is called when the tenant's epoch is gone (Redis restarted empty or failed
    over to a replica without the data): it must put the rules in force again. When another
    replica did that first (a new epoch), `reload` puts the rules in force here.
    """

    def __init__(
        self,
        ctx: StoreContext,
        epoch: str,
        set_up_again: Callable[[], Awaitable[None]],
        reload: Callable[[], Awaitable[None]],
    ) -> None:
        self.ctx, self.epoch = ctx, epoch
        self.set_up_again, self.reload = set_up_again, reload
        self.run_id = ""  # of the Redis process last seen: a new one restarted meanwhile
        self.may_read_info = True  # an ACL may refuse INFO: restarts are then seen by outages

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(TICK_SECONDS)

    async def check(self) -> None:
        """One look: answering, taking writes, the same process, with our epoch?"""
        health = self.ctx.health
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                epoch, run_id = await self._look()
        except Exception as exc:
            if not is_outage(exc):
                raise
            detail = str(exc) or f"no answer within {ANSWER_SECONDS} s"
            if health.change(RedisState.DOWN, detail):
                log.error("redis_unreachable", error=detail)
            return
        restarted = bool(self.run_id and run_id) and run_id != self.run_id
        self.run_id = run_id or self.run_id
        if not health.up or restarted:
            # a restart between two looks counts too: it may have lost its last writes
            down_for = 0.0 if health.up else health.seconds_in_state()
            health.change(RedisState.UP)
            # said at once: whoever sees the state up also finds it in the log
            log.info("redis_reachable", down_seconds=round(down_for, 2), restarted=restarted)
            # pooled connections may be dead sockets to the old process: open fresh ones
            await self.ctx.redis.connection_pool.disconnect(inuse_connections=False)
            health.renewed()
        if epoch != self.epoch:
            await self._renew_data(epoch)

    async def _look(self) -> tuple[str | None, str]:
        """The tenant's epoch and the Redis process's run id ("" if INFO is not allowed);
        a refused write (a read-only replica, a full disk) raises here."""
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.epoch)
            pipe.delete(keys.write_probe)  # a write that changes nothing
            epoch, _ = await pipe.execute()
        if not self.may_read_info:
            return epoch, ""
        try:
            server = await self.ctx.redis.info("server")
        except NoPermissionError:
            self.may_read_info = False
            log.warning(
                "redis_info_refused",
                detail="the Redis user may not run INFO: a restart is noticed only when it "
                "makes Redis unreachable for a moment",
            )
            return epoch, ""
        return epoch, str(server.get("run_id", ""))

    async def _renew_data(self, epoch: str | None) -> None:
        health = self.ctx.health
        if epoch is None:
            health.change(RedisState.EMPTY, "Redis holds none of this tenant's data")
            log.error(
                "redis_data_lost",
                detail=(
                    "Redis answers but holds none of this tenant's data: it restarted empty or "
                    "failed over to a replica without it. Contacts, agents and customers held "
                    "before are gone; the rules are published again from the routing file"
                ),
            )
        self.epoch, first = await claim_epoch(self.ctx)  # first: the other replicas follow us
        if first:
            await self.set_up_again()
        else:
            log.warning("redis_set_up_by_another_replica", epoch=self.epoch)
            await self.reload()
        health.change(RedisState.UP)
        await self.ctx.redis.connection_pool.disconnect(inuse_connections=False)
        log.info("redis_set_up_again", rules_version=self.ctx.rules.version)
        health.renewed()
