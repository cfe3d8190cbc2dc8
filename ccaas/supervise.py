"""Supervised background duties: a duty that fails is logged and started again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("ccaas.duties")


async def supervise(
    name: str, duty: Callable[[], Awaitable[object]], pause: float = 0.5, **context: str
) -> None:
    """Run `duty` forever; a failure is logged with `context` and the duty restarts after
    `pause` seconds. Cancellation stops it."""
    while True:
        try:
            await duty()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("duty_failed", duty=name, **context)
            await asyncio.sleep(pause)
