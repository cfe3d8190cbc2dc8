"""Commands packed in C by the engine's Redis connections, as redis-py would pack them."""

from __future__ import annotations

import pytest
from redis.asyncio import Connection
from redis.exceptions import DataError

from ccaas.store.client import HiredisPackingConnection


def packed(*args: object) -> bytes:
    return b"".join(HiredisPackingConnection().pack_command(*args))


def redis_py(*args: object) -> bytes:
    return b"".join(Connection().pack_command(*args))


@pytest.mark.parametrize(
    "args",
    [
        ("SET", "k", "v"),
        ("EVALSHA", "abc", 2, "k1", "k2", 1764612345678, -1, 2.5, "é"),
        ("SET", b"k", memoryview(b"raw")),
        ("SET", b"k", bytearray(b"raw")),  # not taken by hiredis: packed by redis-py
        ("SCRIPT LOAD", "return 1"),  # a two-word command name is two words
    ],
)
def test_packs_as_redis_py_does(args: tuple[object, ...]) -> None:
    assert packed(*args) == redis_py(*args)


def test_a_value_redis_cannot_store_is_refused_by_name() -> None:
    with pytest.raises(DataError, match="NoneType"):
        packed("SET", "k", None)
