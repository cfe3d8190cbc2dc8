"""The duty that rewrites Redis's files on disk after erasures, so no erased value stays there."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from ..store import persistence
from ..store.context import StoreContext
from ..supervise import raise_if_cancelled

log = structlog.get_logger("ccaas.erasure_rewrite")
POLL_SECONDS = 0.5  # how often the erasure counter is read
SETTLE_SECONDS = 0.5  # erasures arriving together: wait until none came for this long
MOST_SETTLE_SECONDS = 10.0  # ...but never longer than this before rewriting


class ErasureRewriter:
    """Watches the count of erasures not yet rewritten; once it stops growing, one rewrite
    of the AOF (and of the RDB snapshot, if the server keeps one) covers them all. The
    rewrite starts after the last erasure it claimed, so its files hold none of them."""

    def __init__(
        self,
        ctx: StoreContext,
        poll_seconds: float = POLL_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.ctx, self.poll_seconds, self.settle_seconds = ctx, poll_seconds, settle_seconds

    async def run(self) -> None:
        while True:
            raise_if_cancelled()
            if await persistence.erasures_pending(self.ctx):
                await self._settle()
                await self.rewrite_now()
            await asyncio.sleep(self.poll_seconds)

    async def _settle(self) -> None:
        """Wait while erasures keep arriving (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MOST_SETTLE_SECONDS
        seen = await persistence.erasures_pending(self.ctx)
        while loop.time() < deadline:
            await asyncio.sleep(self.settle_seconds)
            now = await persistence.erasures_pending(self.ctx)
            if now == seen:
                return
            seen = now

    async def rewrite_now(self) -> None:
        """Claim the erasures counted so far and rewrite the files once for all of them."""
        erasures = await persistence.take_erasures(self.ctx)
        if not erasures:
            return  # another replica claimed them
        redis = self.ctx.redis
        try:
            state = await persistence.persistence(redis)
            if state.aof_enabled:
                await persistence.rewrite_aof(redis)
            snapshots = await persistence.rdb_snapshots_configured(redis)
            if snapshots:
                await persistence.save_snapshot(redis)
        except persistence.RewriteRefused as exc:
            # retrying would be refused again: the operator must act (docs/operations.md)
            log.error(
                "erasure_rewrite_refused",
                erasures=erasures,
                error=str(exc),
                action="rewrite the AOF and the RDB snapshot of this Redis by other means",
            )
            return
        except BaseException:
            with contextlib.suppress(Exception):  # Redis is down: the next start rewrites
                await persistence.give_back_erasures(self.ctx, erasures)
            raise
        if snapshots is None:
            log.warning(
                "erasure_rdb_unchecked",
                erasures=erasures,
                reason="CONFIG GET save was refused: an RDB snapshot may still hold erased data",
            )
        log.info(
            "erasure_rewritten",
            erasures=erasures,
            aof=state.aof_enabled,
            rdb_snapshot=bool(snapshots),
        )
