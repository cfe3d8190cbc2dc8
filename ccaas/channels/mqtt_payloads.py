"""What adapters publish on the inbound topics, as strict models: the HTTP bodies plus the
adapter's name (its errors go to its own topic) and, for messages, which contact."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..domain.models import Channel
from ..domain.values import Key
from ..ingest.payloads import ContactIn, MessageIn, Strict

UNKNOWN_ADAPTER = "unknown"
_ADAPTER = Field(
    None, description="the adapter's name: what the bridge refuses goes to errors/{adapter}"
)


class MqttContactIn(ContactIn):
    """A contact arriving: the body of POST /v1/contacts, and the adapter's name."""

    adapter: Key | None = _ADAPTER


class MqttMessageIn(MessageIn):
    """A customer's message for an open contact, named by its id or as the adapter knows it
    (its channel and external id); `message_id` is required: a message sent again (MQTT
    delivers at least once) is not added twice."""

    adapter: Key | None = _ADAPTER
    message_id: str = Field(min_length=1, max_length=200)
    contact_id: str | None = Field(None, min_length=1, max_length=100)
    channel: Channel | None = None
    external_id: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _names_the_contact(self) -> MqttMessageIn:
        by_id = self.contact_id is not None
        by_channel = self.channel is not None and self.external_id is not None
        if by_id == by_channel:
            raise ValueError("name the contact by contact_id, or by channel and external_id")
        return self


class ReceiptIn(Strict):
    """How far an agent's message got, reported by the adapter that delivers it."""

    adapter: Key | None = _ADAPTER
    contact_id: str = Field(min_length=1, max_length=100)
    message_id: str = Field(min_length=1, max_length=40, description="our id of the message")
    state: Literal["sent", "delivered", "read", "failed"]
    reason: str = Field("", max_length=300, description="why it failed")
