"""How many web chats one address and one browser started lately: a public way in must not
let one visitor fill the queues."""

from __future__ import annotations

from typing import ClassVar

from .context import StoreContext
from .scripts import Reply


class ChatStarts:
    WINDOW_SECONDS: ClassVar[int] = 15 * 60
    MOST_PER_ADDRESS: ClassVar[int] = 30
    MOST_PER_BROWSER: ClassVar[int] = 10

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def allowed(self, address: str, browser: str) -> bool:
        """Count a start against the address and the browser; False beyond either's limit."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.count_attempts(
            keys=[
                keys.attempts("chat-starts", address),
                keys.attempts("chat-starts", browser or address),
            ],
            args=[self.WINDOW_SECONDS * 1000],
        )
        by_address, by_browser = (int(v) for v in Reply.decode(answer).values)
        return by_address <= self.MOST_PER_ADDRESS and by_browser <= self.MOST_PER_BROWSER
