"""The MQTT bridge on a real broker, as an odd integrator and an operator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from ccaas.channels.mqtt_bridge import BrokerAddress, MqttBridge
from ccaas.channels.mqtt_topics import Inbound
from ccaas.runtime.embedded_mqtt import EmbeddedBroker
from ccaas.runtime.engine import BRIDGE, MqttOptions
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.mqtt_adapter import Adapter, adapter_on


@pytest.fixture
def tenant() -> str:
    return "r" + secrets.token_hex(4)


@pytest.fixture
async def api(make_api: MakeApi, mqtt_broker: EmbeddedBroker, tenant: str) -> TestClient:
    client = await make_api(tenant=tenant, mqtt=MqttOptions(mqtt_broker.url, f"ccaas-{tenant}"))
    await client.server.app[BRIDGE].connected.wait()
    return client


@pytest.fixture
async def adapter(
    api: TestClient, mqtt_broker: EmbeddedBroker, tenant: str
) -> AsyncIterator[Adapter]:
    async with adapter_on(mqtt_broker.port, tenant) as connected:
        yield connected


@contextlib.asynccontextmanager
async def another_bridge(api: TestClient, broker: EmbeddedBroker) -> AsyncIterator[MqttBridge]:
    """A second replica (or the same engine restarted on a fresh session)."""
    ctx = api.server.app[SERVICES].ctx
    bridge = MqttBridge(ctx, BrokerAddress.parse(broker.url), "replica-" + secrets.token_hex(3))
    task = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(10):
            await bridge.connected.wait()
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_retained_contact_does_not_bring_an_erased_customer_back(
    api: TestClient, adapter: Adapter, mqtt_broker: EmbeddedBroker
) -> None:
    """An adapter publishes its contacts retained (legal MQTT). The customer is erased.
    Each (re)subscription of a bridge gets the retained message again: the erased
    customer's name and address must not come back into Redis."""
    contact = {
        "channel": "chat", "external_id": "ret-1", "queue": "billing", "adapter": "web",
        "customer": {"email": "kim.private@example.com", "name": "Kim Private"},
    }  # fmt: skip
    topic = adapter.topics.inbound(Inbound.CONTACTS)
    await adapter.client.publish(topic, json.dumps(contact).encode(), qos=1, retain=True)
    try:
        queued = await adapter.expect(lambda t, p: p.get("event") == "queued")
        shown = await (await api.get(f"/v1/contacts/{queued['contact_id']}")).json()
        erased = await api.delete(f"/v1/customers/{shown['customer_id']}")
        assert erased.status == 200, await erased.text()
        ctx = api.server.app[SERVICES].ctx
        async with another_bridge(api, mqtt_broker):
            await asyncio.sleep(1.5)
        left = [k for k, v in (await dump(ctx.redis)).items() if "kim.private" in repr(v)]
        assert left == [], f"the erased customer is back in {left}"
    finally:
        await adapter.client.publish(topic, b"", qos=1, retain=True)  # clear it


async def test_a_message_that_met_a_redis_outage_comes_again(
    api: TestClient, adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/mqtt.md: "If Redis cannot be reached, nothing is refused: the message is not
    acknowledged and comes again once Redis is back." The bridge drops its own connection
    on the outage; the message must still arrive once Redis answers (on each broker the
    engine may embed)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from ccaas.store.messages import MessageRepository

    await adapter.publish(
        Inbound.CONTACTS, {"channel": "chat", "external_id": "out-1", "queue": "billing"}
    )
    queued = await adapter.expect(lambda t, p: p.get("event") == "queued")
    real_post = MessageRepository.post

    async def redis_blip(self: MessageRepository, *args: object, **kwargs: object) -> object:
        monkeypatch.setattr(MessageRepository, "post", real_post)
        raise RedisConnectionError("Connection reset by peer")

    monkeypatch.setattr(MessageRepository, "post", redis_blip)
    payload = {"contact_id": queued["contact_id"], "message_id": "m-1", "text": "hello?"}
    await adapter.publish(Inbound.MESSAGES, payload)
    url = f"/v1/contacts/{queued['contact_id']}/messages"
    for _ in range(100):  # 10 s: the bridge reconnects within a second
        if await (await api.get(url)).json():
            break
        await asyncio.sleep(0.1)
    texts = [m["text"] for m in await (await api.get(url)).json()]
    assert texts == ["hello?"], "the message met a Redis outage and was lost"
