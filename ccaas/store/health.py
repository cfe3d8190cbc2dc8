"""What this process knows of Redis right now: up, unreachable, or back without our data."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class RedisState(StrEnum):
    UP = "reachable"
    DOWN = "unreachable"  # refused, timed out, loading, read-only, refusing writes
    EMPTY = "empty"  # answering, but our data is gone: being set up again


class RedisHealth:
    """Kept by the Redis watcher, read by the API (503 while not up) and the router.

    `generation` grows each time Redis comes back or is found reset: whoever caches what it
    read from Redis compares it and reads everything again. `listeners` are called then.
    """

    def __init__(self) -> None:
        self.state = RedisState.UP
        self.detail = ""
        self.since = time.monotonic()
        self.generation = 0
        self.listeners: list[Callable[[], None]] = []

    @property
    def up(self) -> bool:
        return self.state is RedisState.UP

    def seconds_in_state(self) -> float:
        return time.monotonic() - self.since

    def change(self, state: RedisState, detail: str = "") -> bool:
        """Enter `state`; True if it is a change (the caller logs it)."""
        self.detail = detail
        if state is self.state:
            return False
        self.state, self.since = state, time.monotonic()
        return True

    def renewed(self) -> None:
        """What was read from Redis before may be wrong now: tell every cache."""
        self.generation += 1
        for listener in self.listeners:
            listener()
