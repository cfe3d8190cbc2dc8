"""The Redis client ccaas uses: decoded replies, commands packed by hiredis, and timeouts
short enough that an outage is answered at once instead of hanging."""

from __future__ import annotations

import re
from typing import Any

import hiredis
from redis import exceptions
from redis.asyncio import BlockingConnectionPool, Connection, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..supervise import raise_if_cancelled

SOCKET_TIMEOUT_SECONDS = 1.0  # a stalled Redis is an outage after this long, not a hang
CONNECT_TIMEOUT_SECONDS = 0.5
POOL_WAIT_SECONDS = 0.5  # every connection busy: wait this long for one, then fail
MAX_CONNECTIONS = 100
HEALTH_CHECK_SECONDS = 2  # a connection idle this long is pinged before use
# Redis's own words for "cannot serve now", also when a script's write met them
# ("Error running script ... -READONLY You can't write against a read only replica")
_NOT_SERVING = re.compile(r"(?:^|-)(?:READONLY|MISCONF|MASTERDOWN|TRYAGAIN|LOADING)\b")


class HiredisPackingConnection(Connection):  # type: ignore[misc]  # redis is untyped here
    """Packs commands in C: redis-py's asyncio client packs in Python, ten times slower."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:  # hiredis takes str, bytes, int, float and memoryview only:
            return list(super().pack_command(*args))  # redis-py's own errors for the rest


def connect(url: str, *, socket_timeout: float = SOCKET_TIMEOUT_SECONDS) -> Redis:
    """A client on a bounded pool. No command is retried by the client: a write whose answer
    was lost may have happened, so the caller (who knows whether it is safe) decides."""
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        connection_class=HiredisPackingConnection,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes them all


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means Redis cannot serve now (down, stalled, loading, read-only after a
    failover, refusing writes), as opposed to a bug or a bad request."""
    if isinstance(exc, exceptions.ConnectionError | exceptions.TimeoutError | TimeoutError):
        return True  # BusyLoadingError ("LOADING") is a ConnectionError
    if isinstance(exc, exceptions.ReadOnlyError):
        return True
    return isinstance(exc, exceptions.ResponseError) and bool(_NOT_SERVING.search(str(exc)))


async def next_message(pubsub: PubSub, seconds: float) -> dict[str, Any] | None:
    """The next pub/sub message within `seconds` (None if none), like get_message; but a
    cancellation that redis-py's read swallowed (it waits out its timeout and carries on)
    is raised, so a duty stops at once instead of after the shutdown grace."""
    message: dict[str, Any] | None = await pubsub.get_message(timeout=seconds)
    raise_if_cancelled()
    return message
