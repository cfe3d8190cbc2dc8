"""A replica never swaps back to an older rules version than one it already runs."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.domain.rules.text import parse_rules
from ccaas.store import rules_store
from ccaas.store.context import StoreContext
from ccaas.store.rules_store import RulesStore

V = "queues:\n  billing: {channels: [voice, chat]}\n"


async def test_a_replica_never_goes_back_to_an_older_version(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = StoreContext.create(redis, "t1", parse_rules(V, "a"), ManualClock())
    b = StoreContext.create(redis, "t1", parse_rules(V, "b"), ManualClock())
    real_load = rules_store.load_version
    fired = False

    async def load_slowly(ctx: StoreContext, version: int):  # type: ignore[no-untyped-def]
        nonlocal fired
        rules = await real_load(ctx, version)
        if ctx is a and not fired:
            fired = True
            # meanwhile: replica B publishes, and A's follow() task switches to it
            monkeypatch.setattr(rules_store, "load_version", real_load)
            await rules_store.publish_text(b, V + "  sales: {channels: [voice]}\n", "api")
            rules_store.swap(a, await real_load(a, await RulesStore(a).active_version()))
        return rules

    monkeypatch.setattr(rules_store, "load_version", load_slowly)
    await rules_store.publish_text(a, V + "# v1\n", "api")
    active = await RulesStore(a).active_version()
    assert a.rules.version == active, f"replica A runs v{a.rules.version}, v{active} is in force"
