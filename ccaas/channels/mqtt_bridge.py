"""The MQTT bridge: adapters' contacts, messages and receipts in; events, agents' messages
and places out (topics: mqtt_topics.py, docs/mqtt.md).

At least once without loss: an inbound message is acknowledged to the broker only after
its durable write in Redis (aiomqtt acknowledges on receipt by default, so the bridge turns
that off), on a persistent session (clean_session off, a fixed client id), so a broker
that keeps sessions sends again whatever the bridge had not acknowledged when it stopped.
Each write is idempotent (channel + external id, the adapter's message id), so what comes
twice changes nothing. Messages are handled one at a time, in the order they came.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, ClassVar

import aiomqtt
import structlog

from ..domain.models import Channel
from ..errors import Conflict
from ..ingest.service import Ingest
from ..store.client import is_outage
from ..store.context import StoreContext
from .mqtt_inbound import PASSING_CONFLICTS, InboundHandler, Refusal
from .mqtt_outbox import Outbox, encode
from .mqtt_topics import Inbound, Topics
from .service_url import ServiceUrl

log = structlog.get_logger("ccaas.mqtt")
QOS = 1
KEEPALIVE_SECONDS = 30
PUBLISH_BATCH_LIMIT = 10_000
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # reconnect backoff; the last repeats


class BrokerAddress(ServiceUrl):
    """The broker of CCAAS_MQTT_URL: mqtt://[user[:password]@]host[:port] (1883), or
    mqtts:// for TLS (8883)."""

    SETTING = "CCAAS_MQTT_URL"
    SCHEMES: ClassVar[dict[str, tuple[int, bool]]] = {"mqtt": (1883, False), "mqtts": (8883, True)}


class MqttBridge:
    def __init__(
        self, ctx: StoreContext, address: BrokerAddress, client_id: str, shared_group: str = ""
    ) -> None:
        self.ctx, self.address, self.client_id = ctx, address, client_id
        self.shared_group = shared_group
        self.topics = Topics(ctx.keys.tenant)
        self.inbound = InboundHandler(Ingest(ctx))
        self.outbox = Outbox(ctx, self.topics, client_id)
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Stay connected: each connection's life, and after a loss a new one (backoff)."""
        failures = 0
        while True:
            try:
                await self._connection()
            except Exception as exc:
                causes = exc.exceptions if isinstance(exc, ExceptionGroup) else (exc,)
                if not all(isinstance(c, aiomqtt.MqttError) or is_outage(c) for c in causes):
                    log.exception("mqtt_bridge_failed", broker=self.address.url)
                elif failures == 0 or self.connected.is_set():  # once per outage
                    log.warning("mqtt_disconnected", broker=self.address.url, error=str(exc))
            if self.connected.is_set():
                failures = 0
            self.connected.clear()
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    async def _connection(self) -> None:
        client = aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=self.address.username,
            password=self.address.password,
            identifier=self.client_id,
            clean_session=False,  # the broker keeps what the bridge has not acknowledged
            keepalive=KEEPALIVE_SECONDS,
            max_inflight_messages=100,
            tls_context=ssl.create_default_context() if self.address.tls else None,
        )
        # aiomqtt acknowledges each message on receipt; ours go out after the write
        client._client.manual_ack_set(True)
        # the outbox publishes a batch at once: many publishes awaiting their PUBACK is the
        # normal case here, not the sign of trouble aiomqtt warns about past 10
        client.pending_calls_threshold = PUBLISH_BATCH_LIMIT
        await self.outbox.prepare()
        async with client:
            for kind in Inbound:
                await client.subscribe(self.topics.subscription(kind, self.shared_group), QOS)
            self.connected.set()
            log.info("mqtt_connected", broker=self.address.url, client_id=self.client_id)

            async def publish(topic: str, payload: dict[str, Any]) -> None:
                await client.publish(topic, encode(payload), qos=QOS)

            async with asyncio.TaskGroup() as duties:
                duties.create_task(self._read(client, publish))
                duties.create_task(self.outbox.events(publish))
                duties.create_task(self.outbox.positions(publish))
                for channel in Channel:
                    duties.create_task(self.outbox.outbound(channel, publish))

    async def _read(self, client: aiomqtt.Client, publish: Any) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            kind = self.topics.kind_of(topic)
            payload = message.payload if isinstance(message.payload, bytes) else b""
            # a retained message is old news to a bridge that subscribes later (it would
            # bring back what was erased or ended): only messages sent now are taken
            if kind is not None and not message.retain:
                refusal = await self._handled(kind, topic, payload)
                if refusal is not None:
                    await publish(self.topics.errors(refusal.adapter), refusal.problem)
            elif message.retain and kind is not None:
                log.info("mqtt_retained_message_ignored", topic=topic)
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)

    async def _handled(self, kind: Inbound, topic: str, payload: bytes) -> Refusal | None:
        """The message carried out, trying again in place while Redis is away or the write
        met a passing conflict: it stays unacknowledged meanwhile, so nothing is lost even
        on a broker that would not send it again (amqtt)."""
        failures = 0
        while True:
            try:
                return await self.inbound.handle(kind, topic, payload)
            except Exception as exc:
                if not is_outage(exc) and not _passing(exc):
                    raise
                if failures == 0:
                    log.warning(
                        "mqtt_message_waits", topic=topic, error=str(exc) or type(exc).__name__
                    )
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1


def _passing(exc: Exception) -> bool:
    """A conflict that goes away by itself (rules or a customer changing meanwhile)."""
    return isinstance(exc, Conflict) and exc.fields.get("reason") in PASSING_CONFLICTS
