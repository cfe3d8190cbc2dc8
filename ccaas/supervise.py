"""Supervised background duties: a duty that fails is logged and started again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from structlog.contextvars import bound_contextvars

log = structlog.get_logger("ccaas.duties")


def raise_if_cancelled() -> None:
    """Raise CancelledError when this task was asked to stop. redis-py can swallow a
    cancellation that lands while it reads a reply, so loops that talk to Redis check
    here each time round instead of running on until the shutdown grace is over."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def supervise(
    name: str,
    duty: Callable[[], Awaitable[object]],
    pause: float = 0.5,
    expected: Callable[[Exception], bool] = lambda _: False,
) -> None:
    """Run `duty` forever with `duty=name` bound on its log events; a failure is logged and
    the duty restarts after `pause` seconds. Cancellation stops it. A failure `expected`
    says is foreseen (Redis is down: that is logged once, elsewhere) is logged at debug
    level without its traceback, so an outage does not flood the log."""
    with bound_contextvars(duty=name):
        while True:
            try:
                await duty()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if expected(exc):
                    log.debug("duty_paused", error=str(exc) or type(exc).__name__)
                else:
                    log.exception("duty_failed")
                await asyncio.sleep(pause)
