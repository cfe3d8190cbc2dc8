"""Which Redis errors mean "Redis cannot serve now" (503) rather than a bug (500)."""

from __future__ import annotations

import pytest
from redis import exceptions

from ccaas.store.client import is_outage


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
        exceptions.TimeoutError("Timeout reading from socket"),
        exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        exceptions.ReadOnlyError("You can't write against a read only replica."),
        exceptions.ResponseError("MISCONF Redis is configured to save RDB snapshots, but ..."),
        exceptions.ResponseError(
            "Error running script (call to f_1c2e): @user_script:100: -READONLY You can't "
            "write against a read only replica."
        ),
        exceptions.ResponseError("Error running script (call to f_9a): @user_script:7: -MISCONF"),
        TimeoutError(),
    ],
)
def test_redis_not_serving_is_an_outage(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind"),
        exceptions.ResponseError("Error running script: @user_script:3: table index is nil"),
        exceptions.NoScriptError("NOSCRIPT No matching script"),
        ValueError("a bug"),
    ],
)
def test_a_bug_is_not_an_outage(error: Exception) -> None:
    assert not is_outage(error)
