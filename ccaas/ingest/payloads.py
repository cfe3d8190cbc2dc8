"""What adapters send, as strict pydantic models (unknown fields are refused): a contact
arriving and a customer's message; HTTP, MQTT and the native channels read the same ones."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.intake import NewContact
from ..domain.models import Channel
from ..domain.values import Key, Level, Priority

MAX_MESSAGE_TEXT = 4000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(Strict):
    """A contact arriving on a channel."""

    channel: Channel
    external_id: str = Field(min_length=1, max_length=200, description="the channel's own id")
    queue: Key | None = Field(None, description="left out: the classification rules choose")
    skills: dict[Key, Level] = Field(default_factory=dict, max_length=20)
    priority: Priority = 0
    customer: dict[str, Any] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=50)

    def as_new_contact(self) -> NewContact:
        return NewContact(
            channel=self.channel,
            external_id=self.external_id,
            queue=self.queue or "",
            skills=dict(self.skills),
            priority=self.priority,
            customer=self.customer,
            attributes=self.attributes,
        )


class MessageIn(Strict):
    """A message of the customer's side of a conversation (or a system note)."""

    text: str = Field(min_length=1, max_length=MAX_MESSAGE_TEXT)
    sender: Literal["customer", "system"] = Field(
        "customer", alias="from", description="whose side: the customer's, or the system's"
    )
    message_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="the adapter's own id of the message: sent again, it is not added twice",
    )
