"""The callbacks' timer: a callback scheduled again (no answer, busy) waits in its queue once
it is due, with its place."""

from __future__ import annotations

import asyncio

from ..store.callbacks import CallbackRepository
from ..store.context import StoreContext
from ..supervise import raise_if_cancelled

TICK_SECONDS = 1.0


class CallbackTimer:
    def __init__(self, ctx: StoreContext) -> None:
        self.callbacks = CallbackRepository(ctx)

    async def run(self) -> None:
        while True:
            raise_if_cancelled()
            await self.callbacks.release_due()
            await asyncio.sleep(TICK_SECONDS)
