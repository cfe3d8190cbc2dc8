"""An adapter's side of the MQTT bridge for tests: a real client on the test broker that
publishes as adapters do and waits for what the bridge publishes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt

from ccaas.channels.mqtt_topics import Inbound, Topics

Seen = tuple[str, dict[str, Any]]


class Adapter:
    def __init__(self, client: aiomqtt.Client, tenant: str) -> None:
        self.client = client
        self.topics = Topics(tenant)
        self.seen: list[Seen] = []
        self._arrived = asyncio.Event()

    async def publish(self, kind: Inbound, payload: dict[str, Any] | bytes) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self.client.publish(self.topics.inbound(kind), data, qos=1)

    async def expect(
        self, matches: Callable[[str, dict[str, Any]], bool], seconds: float = 10.0
    ) -> dict[str, Any]:
        """The first message (topic, payload) seen that `matches`, waiting for it."""
        async with asyncio.timeout(seconds):
            while True:
                for topic, payload in self.seen:
                    if matches(topic, payload):
                        return payload
                self._arrived.clear()
                await self._arrived.wait()

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [payload for seen_topic, payload in self.seen if seen_topic == topic]

    async def _collect(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            self.seen.append((str(message.topic), json.loads(message.payload)))
            self._arrived.set()


@contextlib.asynccontextmanager
async def adapter_on(port: int, tenant: str) -> AsyncIterator[Adapter]:
    """An adapter subscribed to everything the bridge publishes for `tenant`."""
    async with aiomqtt.Client("127.0.0.1", port, identifier="adapter-" + secrets.token_hex(4)) as c:
        adapter = Adapter(c, tenant)
        root = adapter.topics.root
        for pattern in ("contacts/+/events", "out/+/messages", "errors/+"):
            await c.subscribe(f"{root}/{pattern}", qos=1)
        task = asyncio.create_task(adapter._collect())
        try:
            yield adapter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
