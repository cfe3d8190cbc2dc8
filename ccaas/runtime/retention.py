"""The event stream's time horizon: a duty that trims events older than it, now and then."""

from __future__ import annotations

import asyncio

import structlog

from ..store.context import StoreContext
from ..store.events import EventLog

log = structlog.get_logger("ccaas.retention")
DAY_MS = 86_400_000
TRIM_EVERY_SECONDS = 600.0


async def trim_once(ctx: StoreContext, max_age_ms: int) -> int:
    """Trim the events older than `max_age_ms` before the engine's clock; how many went."""
    removed = await EventLog(ctx).trim_before(ctx.clock.now_ms() - max_age_ms)
    if removed:
        log.info("events_trimmed", removed=removed, max_age_days=max_age_ms / DAY_MS)
    return removed


async def keep_trimming(
    ctx: StoreContext, max_age_ms: int, every_seconds: float = TRIM_EVERY_SECONDS
) -> None:
    """Run until cancelled: trim at start, then every `every_seconds`."""
    while True:
        await trim_once(ctx, max_age_ms)
        await asyncio.sleep(every_seconds)
