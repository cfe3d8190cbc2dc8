"""What the bridge does with one message an adapter published: the same durable write as
its HTTP twin (a contact through ingest, a customer's message, a delivery receipt), or a
refusal for the adapter's errors topic that changed nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from ..domain.problems import invalid_input, json_object, problem_object
from ..domain.values import KEY_PATTERN
from ..errors import CcaasError, Conflict, ContactRejected, NotFound, PayloadTooLarge
from ..ingest.service import Ingest
from ..store.contacts import ContactRepository
from ..store.messages import MessageRepository
from .mqtt_payloads import UNKNOWN_ADAPTER, MqttContactIn, MqttMessageIn, ReceiptIn
from .mqtt_topics import Inbound

log = structlog.get_logger("ccaas.mqtt")
MAX_PAYLOAD_BYTES = 64 * 1024  # as an HTTP body
# conflicts that pass by themselves: the bridge tries again rather than refuse
PASSING_CONFLICTS = ("rules_changed", "kept_changing")
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message was refused, for `errors/{adapter}`: the problem object, with the
    topic it came on and the adapter's id of what it sent."""

    adapter: str
    problem: dict[str, Any]


class InboundHandler:
    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest
        self.contacts = ContactRepository(ingest.ctx)
        self.messages = MessageRepository(ingest.ctx)

    async def handle(self, kind: Inbound, topic: str, payload: bytes) -> Refusal | None:
        """Carry the message out; a Refusal when it was refused (bad payload, unknown
        contact, no queue takes it). An outage raises: the message is not acknowledged,
        so the broker sends it again."""
        raw: dict[str, Any] = {}
        try:
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise PayloadTooLarge(
                    f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}"
                )
            raw = json_object(payload)
            if kind is Inbound.CONTACTS:
                await self._contact(_parse(MqttContactIn, raw))
            elif kind is Inbound.MESSAGES:
                await self._message(_parse(MqttMessageIn, raw))
            else:
                await self._receipt(_parse(ReceiptIn, raw))
        except CcaasError as exc:
            passing = isinstance(exc, Conflict) and exc.fields.get("reason") in PASSING_CONFLICTS
            if not passing and (isinstance(exc, ContactRejected) or exc.status < 500):
                return self._refusal(exc, topic, raw)
            raise
        return None

    async def _contact(self, body: MqttContactIn) -> None:
        result = await self.ingest.enqueue(body.as_new_contact())
        if result.created:
            log.info(
                "contact_created",
                contact_id=result.contact_id,
                channel=body.channel.value,
                adapter=body.adapter,
                via="mqtt",
            )

    async def _message(self, body: MqttMessageIn) -> None:
        contact_id = body.contact_id
        if contact_id is None:
            assert body.channel is not None and body.external_id is not None
            contact_id = await self.contacts.find(body.channel.value, body.external_id)
            if contact_id is None:
                raise NotFound(
                    f"no {body.channel.value} contact with external_id {body.external_id!r}",
                    field="external_id",
                )
        posted = await self.messages.post(
            contact_id, body.sender, body.text, reference=body.message_id
        )
        if posted.added:
            log.info("message_posted", contact_id=contact_id, message_id=posted.message_id)

    async def _receipt(self, body: ReceiptIn) -> None:
        delivery = await self.messages.mark_delivery(
            body.contact_id, body.message_id, body.state, body.reason
        )
        if delivery.changed:
            log.info(
                "message_delivery",
                contact_id=body.contact_id,
                message_id=body.message_id,
                state=delivery.state,
            )

    def _refusal(self, exc: CcaasError, topic: str, raw: dict[str, Any]) -> Refusal:
        problem = problem_object(exc) | {"topic": topic}
        for name in ("message_id", "channel", "external_id", "contact_id"):
            if isinstance(raw.get(name), str):
                problem[name] = raw[name][:200]
        adapter = raw.get("adapter")
        if not (isinstance(adapter, str) and _is_key(adapter)):
            adapter = UNKNOWN_ADAPTER
        log.info(
            "mqtt_message_refused",
            topic=topic,
            adapter=adapter,
            status=problem["status"],
            problem=problem["detail"],
        )
        return Refusal(adapter, problem)


def _parse(model: type[Model], raw: dict[str, Any]) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input(exc) from exc


def _is_key(text: str) -> bool:
    return KEY_PATTERN.fullmatch(text) is not None
