"""The tenant's event stream as a whole: trimming what is past the retention horizon."""

from __future__ import annotations

from .context import StoreContext


class EventLog:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def trim_before(self, oldest_kept_ms: int) -> int:
        """Remove the events whose stream id (Redis's time of the append) is before
        `oldest_kept_ms`; returns how many went. One command: nothing else is read."""
        removed: int = await self.ctx.redis.xtrim(
            self.ctx.keys.events, minid=f"{max(oldest_kept_ms, 0)}-0", approximate=False
        )
        return removed
