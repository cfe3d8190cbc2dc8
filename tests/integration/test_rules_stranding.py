"""Rules changes never strand a contact: removed queues or channels, lagging replicas, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.domain.models import Channel
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ConfigError, InvalidInput
from ccaas.runtime.rules_sync import bootstrap, join, watch_file
from ccaas.store.context import StoreContext
from ccaas.store.rules_store import RulesStore, publish_text
from tests.helpers import MONDAY_10AM, MakeApi, arrive, dump

V1 = """
queues:
  billing: {channels: [voice, chat]}
  callbacks: {channels: [voice]}
profiles:
  team: {queues: [billing, callbacks]}
classification:
  - {name: default, queue: billing}
"""
NO_CALLBACKS = V1.replace("  callbacks: {channels: [voice]}\n", "").replace(
    "[billing, callbacks]", "[billing]"
)
VOICE_ONLY_BILLING = V1.replace(
    "billing: {channels: [voice, chat]}", "billing: {channels: [voice]}"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


@pytest.fixture
async def ctx(redis: Redis, clock: ManualClock) -> StoreContext:
    ctx = StoreContext.create(redis, "t1", parse_rules(V1, "f"), clock)
    await publish_text(ctx, V1, "file")
    return ctx


async def test_a_restart_with_a_file_that_removes_a_busy_queue_keeps_the_rules_in_force(
    ctx: StoreContext, redis: Redis, clock: ManualClock, tmp_path: Path
) -> None:
    await arrive(ctx, "cb1", channel=Channel.VOICE, queue="callbacks")
    path = tmp_path / "routing.yaml"
    path.write_text(NO_CALLBACKS)
    restarted = StoreContext.create(redis, "t1", parse_rules(NO_CALLBACKS, str(path)), clock)
    await bootstrap(restarted, path)  # the file is refused, logged; v1 stays in force
    assert (restarted.rules.version, await RulesStore(restarted).active_version()) == (1, 1)


async def test_a_version_that_drops_a_channel_with_waiting_contacts_is_refused(
    ctx: StoreContext,
) -> None:
    await arrive(ctx, "w1", channel=Channel.CHAT)
    with pytest.raises(ConfigError) as refused:
        await publish_text(ctx, VOICE_ONLY_BILLING, "api")
    assert "queue 'billing' would no longer take chat but 1 chat contact(s)" in refused.value.detail
    assert ctx.rules.version == 1


async def test_a_lagging_replica_classifies_again_under_the_rules_in_force(
    ctx: StoreContext, redis: Redis, clock: ManualClock
) -> None:
    lagging = StoreContext.create(redis, "t1", parse_rules(V1, "f"), clock)
    await join(lagging)
    await publish_text(ctx, NO_CALLBACKS, "api")  # callbacks is empty: accepted
    assert lagging.rules.version == 1  # it has not heard of version 2 yet
    with pytest.raises(InvalidInput, match="unknown queue 'callbacks'"):
        await arrive(lagging, "cb1", channel=Channel.VOICE, queue="callbacks")
    assert lagging.rules.version == 2
    assert await redis.keys(lagging.keys.contact("*")) == []


async def test_a_replica_that_cannot_catch_up_refuses_rather_than_strands(
    ctx: StoreContext, redis: Redis, clock: ManualClock
) -> None:
    lagging = StoreContext.create(redis, "t1", parse_rules(V1, "f"), clock)  # no rules sync
    await publish_text(ctx, NO_CALLBACKS, "api")
    with pytest.raises(Exception, match="routing rules changed"):
        await arrive(lagging, "cb1", channel=Channel.VOICE, queue="callbacks")
    assert await redis.keys(lagging.keys.contact("*")) == []


async def test_an_api_version_survives_a_restart_when_the_file_was_not_edited_since(
    redis: Redis, tmp_path: Path
) -> None:
    first = "queues:\n  billing: {channels: [voice, chat]}\n"
    second = first + "  sales: {channels: [voice]}\n"
    third = second + "  retention: {channels: [voice]}\n"
    path = tmp_path / "routing.yaml"
    path.write_text(first)
    ctx = StoreContext.create(redis, "t1", parse_rules(first, str(path)), ManualClock())
    await bootstrap(ctx, path)  # v1 from the file
    await publish_text(ctx, second, "api", dedupe=True)  # v2 through the API
    watcher = asyncio.create_task(watch_file(ctx, path))
    await asyncio.sleep(0.5)
    path.write_text(second)
    await asyncio.sleep(1.5)
    watcher.cancel()
    assert await RulesStore(ctx).active_version() == 2  # the same text: no new version
    await publish_text(ctx, third, "api", dedupe=True)  # v3, the file untouched since
    restarted = StoreContext.create(redis, "t1", parse_rules(second, str(path)), ManualClock())
    await bootstrap(restarted, path)  # a plain restart keeps the API's v3
    assert await RulesStore(restarted).active_version() == 3


async def test_validate_refuses_what_put_refuses_with_the_line_of_the_queue(
    make_api: MakeApi, redis: Redis
) -> None:
    api = await make_api(parse_rules(V1, "f"))
    assert (await api.put("/v1/admin/rules", data=V1)).status == 201
    for channel, external_id, queue in (("chat", "w1", "billing"), ("voice", "v1", "callbacks")):
        body = {"channel": channel, "external_id": external_id, "queue": queue}
        assert (await api.post("/v1/contacts", json=body)).status == 201
    before = await dump(redis)
    text = NO_CALLBACKS.replace(
        "billing: {channels: [voice, chat]}", "billing: {channels: [voice]}"
    )
    answers = [await api.post("/v1/admin/rules/validate", data=text)]
    answers.append(await api.put("/v1/admin/rules", data=text))
    assert [a.status for a in answers] == [422, 422]
    refused = [(await a.json())["errors"] for a in answers]
    assert refused[0] == refused[1]
    assert [(e["line"], e["field"]) for e in refused[0]] == [
        (3, "queues.billing.channels"),  # billing: {channels: [voice]}
        (2, "queues.callbacks"),  # removed: the line of queues:
    ]
    assert "would no longer take chat but 1 chat contact(s)" in refused[0][0]["message"]
    assert await dump(redis) == before
