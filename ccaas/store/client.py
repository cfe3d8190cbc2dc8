"""The Redis client ccaas uses: decoded replies, commands packed by hiredis."""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import Connection, Redis
from redis.asyncio.client import PubSub

from ..supervise import raise_if_cancelled


class HiredisPackingConnection(Connection):  # type: ignore[misc]  # redis is untyped here
    """Packs commands in C: redis-py's asyncio client packs in Python, ten times slower."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if any(isinstance(a, (bytearray, memoryview)) for a in args):
            return list(super().pack_command(*args))
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        return [hiredis.pack_command(args)]


def connect(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=True, connection_class=HiredisPackingConnection)


async def next_message(pubsub: PubSub, seconds: float) -> dict[str, Any] | None:
    """The next pub/sub message within `seconds` (None if none), like get_message; but a
    cancellation that redis-py's read swallowed (it waits out its timeout and carries on)
    is raised, so a duty stops at once instead of after the shutdown grace."""
    message: dict[str, Any] | None = await pubsub.get_message(timeout=seconds)
    raise_if_cancelled()
    return message
