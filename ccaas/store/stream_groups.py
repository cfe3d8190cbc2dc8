"""Reading a Redis stream as one consumer of a group: each entry goes to one reader of the
group (one replica), stays pending until acknowledged, and is read again (by this reader
after a restart, or by another after the reader died) until it is."""

from __future__ import annotations

import time

from redis.exceptions import ResponseError

from .context import StoreContext

Entry = tuple[str, dict[str, str]]
CLAIM_IDLE_MS = 30_000  # an entry pending this long on another reader is taken over


class GroupReader:
    def __init__(self, ctx: StoreContext, stream: str, group: str, consumer: str) -> None:
        """`consumer` names this reader; keep it across restarts (its pending entries are
        read first)."""
        self.ctx, self.stream, self.group, self.consumer = ctx, stream, group, consumer
        self._backlog = True  # this reader's own pending entries come first
        self._claimed_at = 0.0

    async def read(self, count: int, block_ms: int) -> list[Entry]:
        """Entries to handle: this reader's pending ones, those idle on a reader that
        stopped, then new ones (waiting up to `block_ms` for one)."""
        if time.monotonic() - self._claimed_at > CLAIM_IDLE_MS / 2000:
            self._backlog = True
        if self._backlog:
            entries = await self._xread("0", count, None)
            if entries:
                return entries
            self._backlog = False
            self._claimed_at = time.monotonic()
            claimed = await self._claim(count)
            if claimed:
                return claimed
        return await self._xread(">", count, block_ms)

    async def ack(self, ids: list[str]) -> None:
        if ids:
            await self.ctx.redis.xack(self.stream, self.group, *ids)

    async def ack_and_delete(self, ids: list[str]) -> None:
        """Acknowledge and remove from the stream: what it held need not stay in Redis."""
        if ids:
            async with self.ctx.redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream, self.group, *ids)
                pipe.xdel(self.stream, *ids)
                await pipe.execute()

    def look_again(self) -> None:
        """Read pending entries (own and abandoned) before new ones, next time."""
        self._backlog = True

    async def _xread(self, start: str, count: int, block_ms: int | None) -> list[Entry]:
        try:
            reply = await self.ctx.redis.xreadgroup(
                self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.create_group()
            return []
        entries: list[Entry] = []
        for _, stream_entries in reply or []:
            # an entry trimmed from the stream while pending comes back without fields
            entries.extend((entry_id, fields or {}) for entry_id, fields in stream_entries)
        return entries

    async def _claim(self, count: int) -> list[Entry]:
        try:
            reply = await self.ctx.redis.xautoclaim(
                self.stream, self.group, self.consumer, CLAIM_IDLE_MS, "0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            return []
        return [(entry_id, fields or {}) for entry_id, fields in reply[1]]

    async def create_group(self) -> None:
        """The group, if missing, starting at the stream's end: a new group is not sent the
        history."""
        try:
            await self.ctx.redis.xgroup_create(self.stream, self.group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # another replica made it first
                raise
