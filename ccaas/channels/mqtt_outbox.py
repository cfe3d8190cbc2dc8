"""What the bridge publishes: contact events (from the event stream), agents' messages
(from the outbound streams) and waiting contacts' places, each read as one consumer of a
group so that, among replicas, one publishes it and nothing is skipped across restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ..domain.models import Channel
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.queues import Place, QueueRepository
from ..store.stream_groups import GroupReader
from ..supervise import raise_if_cancelled
from .adapter_events import adapter_event, position_event
from .mqtt_topics import Topics

log = structlog.get_logger("ccaas.mqtt")
Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
EVENTS_GROUP, OUTBOUND_GROUP = "mqtt-events", "mqtt-outbound"
BATCH, BLOCK_MS = 200, 500
POSITION_SECONDS = 2.0  # how often waiting contacts' places are looked at


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Outbox:
    def __init__(self, ctx: StoreContext, topics: Topics, consumer: str) -> None:
        self.ctx, self.topics, self.consumer = ctx, topics, consumer
        self.contacts = ContactRepository(ctx)
        self.queues = QueueRepository(ctx)
        self._places: dict[str, Place] = {}

    async def prepare(self) -> None:
        """Make the groups read from now on, before the bridge says it is connected."""
        for reader in (self._events_reader(), *map(self._outbound_reader, Channel)):
            await reader.create_group()

    def _events_reader(self) -> GroupReader:
        return GroupReader(self.ctx, self.ctx.keys.events, EVENTS_GROUP, self.consumer)

    def _outbound_reader(self, channel: Channel) -> GroupReader:
        stream = self.ctx.keys.outbound(channel.value)
        return GroupReader(self.ctx, stream, OUTBOUND_GROUP, self.consumer)

    async def events(self, publish: Publish) -> None:
        """Contact events to contacts/{id}/events, with the contact's channel and external
        id (what the adapter knows it by); acknowledged once the broker has them."""
        reader = self._events_reader()
        while True:
            raise_if_cancelled()
            entries = await reader.read(BATCH, BLOCK_MS)
            found = [(entry_id, adapter_event(entry_id, fields)) for entry_id, fields in entries]
            events = [event for _, event in found if event is not None]
            facts = await self.contacts.fields_of(
                [contact_id for contact_id, _ in events], ("channel", "external_id")
            )
            sends = []
            for (contact_id, payload), (channel, external_id) in zip(events, facts, strict=True):
                payload["channel"] = channel
                payload["external_id"] = external_id  # gone after an erasure: None
                sends.append(publish(self.topics.contact_events(contact_id), payload))
            await asyncio.gather(*sends)
            await reader.ack([entry_id for entry_id, _ in entries])

    async def outbound(self, channel: Channel, publish: Publish) -> None:
        """Agents' messages on `channel` to out/{channel}/messages; once the broker has one
        it leaves Redis's outbound stream (the conversation keeps it)."""
        reader = self._outbound_reader(channel)
        while True:
            raise_if_cancelled()
            entries = await reader.read(BATCH, BLOCK_MS)
            sends = [
                publish(self.topics.outbound_messages(channel.value), _outbound(channel, fields))
                for _, fields in entries
                if fields  # an erasure removed it while it was pending: nothing to send
            ]
            await asyncio.gather(*sends)
            await reader.ack_and_delete([entry_id for entry_id, _ in entries])

    async def positions(self, publish: Publish) -> None:
        """Each waiting contact's place and wait estimate, when they changed."""
        while True:
            raise_if_cancelled()
            places = await self.queues.positions()
            changed = [
                (contact_id, place)
                for contact_id, place in places.items()
                if self._places.get(contact_id) != place
            ]
            await asyncio.gather(
                *(
                    publish(
                        self.topics.contact_events(contact_id),
                        position_event(contact_id, p.queue, p.position, p.ewt_seconds),
                    )
                    for contact_id, p in changed
                )
            )
            self._places = places
            await asyncio.sleep(POSITION_SECONDS)


def _outbound(channel: Channel, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "contact_id": fields.get("contact", ""),
        "message_id": fields.get("message", ""),
        "channel": channel.value,
        "external_id": fields.get("external_id", ""),
        "agent_id": fields.get("agent", ""),
        "text": fields.get("text", ""),
        "at": int(fields.get("at", "0")),
    }
