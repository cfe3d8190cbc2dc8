"""The bridge killed mid-stream (kill -9 of `ccaas serve`) loses and duplicates nothing: an
adapter publishes a stream of contacts on a real mosquitto while the engine dies and starts
again, and every contact is in Redis exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import aiomqtt
import pytest
from redis.asyncio import Redis

from ccaas.channels.mqtt_topics import Inbound, Topics
from ccaas.runtime.embedded_mqtt import EmbeddedBroker
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.store.keys import TenantKeys
from tests.serve_processes import distinct_ports, serve_env, start_serve, stop

TENANT = "crash"
CONTACTS = 3000
KILL_AFTER = 600  # contacts stored when the engine is killed
RULES = "queues:\n  billing:\n    channels: [chat]\n"


KEYS = TenantKeys(TENANT)


async def _stored(redis: Redis) -> int:
    return int(await redis.hlen(KEYS.external_ids))


async def _until(redis: Redis, count: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while (stored := await _stored(redis)) < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return stored


async def test_a_bridge_killed_mid_stream_loses_and_duplicates_nothing(
    redis_server: EmbeddedRedis, redis: Redis, mqtt_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.redelivers:
        pytest.skip("amqtt does not send again what was in flight (docs/mqtt.md); mosquitto does")
    routing = tmp_path / "routing.yaml"
    routing.write_text(RULES)
    (port,) = distinct_ports(1)
    env = serve_env(redis_server.url, TENANT, port, routing) | {
        "CCAAS_MQTT_URL": mqtt_broker.url,
        "CCAAS_MQTT_CLIENT_ID": "ccaas-crash-test",
        "CCAAS_ROUTER": "false",
    }
    topic = Topics(TENANT).inbound(Inbound.CONTACTS)

    def contact(n: int) -> bytes:
        return json.dumps(
            {"channel": "chat", "external_id": f"chat-{n}", "queue": "billing"}
        ).encode()

    engine = start_serve(env)
    try:
        async with aiomqtt.Client(
            "127.0.0.1", mqtt_broker.port, identifier="crash-adapter"
        ) as adapter:
            for _ in range(60):  # until the bridge has subscribed (then it is stored, once)
                await adapter.publish(topic, contact(0), qos=1)
                if await _until(redis, 1, 0.5):
                    break
            assert await _stored(redis) == 1, "the engine never took the first contact"

            async def publish_all() -> None:
                for n in range(1, CONTACTS + 1):
                    await adapter.publish(topic, contact(n), qos=1)
                    if n % 50 == 0:
                        await asyncio.sleep(0.01)  # an adapter's steady stream, not one burst

            publishing = asyncio.create_task(publish_all())
            stored_at_kill = await _until(redis, KILL_AFTER, 60)
            engine.send_signal(signal.SIGKILL)
            engine.wait()
            assert not publishing.done(), "the stream ended before the kill: nothing was in flight"
            engine = start_serve(env)
            await publishing
            stored = await _until(redis, CONTACTS + 1, 60)
    finally:
        engine.terminate()
        stop(engine)
    assert stored_at_kill < CONTACTS + 1
    assert stored == CONTACTS + 1, f"{CONTACTS + 1 - stored} contacts lost"
    ids = await redis.hgetall(KEYS.external_ids)
    assert sorted(ids) == sorted(f"chat:chat-{n}" for n in range(CONTACTS + 1))
    assert len(set(ids.values())) == CONTACTS + 1  # one contact each
    queued = [
        fields["contact"]
        for _, fields in await redis.xrange(KEYS.events)
        if fields["type"] == "contact_queued"
    ]
    assert sorted(queued) == sorted(ids.values()), "a contact was queued twice (or never)"
    assert await redis.zcard(KEYS.queue_waiting("billing")) == CONTACTS + 1
