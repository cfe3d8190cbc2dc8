"""The commands an agent's console sends over its websocket, as strict models: each carries
the client's `id`, answered by an `ack` or an `error` with that id."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ..domain.values import Key

CommandId = Annotated[str, Field(min_length=1, max_length=64)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: CommandId


class PresenceCommand(_Command):
    type: Literal["presence"]
    presence: Literal["available", "away", "offline"]
    reason: str = Field("", max_length=100)


class NextPresenceCommand(_Command):
    type: Literal["next_presence"]
    presence: Literal["away", "offline"] | None
    reason: str = Field("", max_length=100)


class AcceptCommand(_Command):
    type: Literal["accept"]
    offer_id: str = Field(min_length=1, max_length=200)


class RejectCommand(_Command):
    type: Literal["reject"]
    offer_id: str = Field(min_length=1, max_length=200)


class MessageCommand(_Command):
    type: Literal["message"]
    contact_id: Key
    text: str = Field(min_length=1, max_length=4000)


class CompleteCommand(_Command):
    type: Literal["complete"]
    contact_id: Key
    disposition: str = Field("", max_length=200)
    notes: str = Field("", max_length=4000)


class EndWrapUpCommand(_Command):
    type: Literal["end_wrap_up"]
    contact_id: Key


class TransferCommand(_Command):
    type: Literal["transfer"]
    contact_id: Key
    queue: Key | None = None
    agent_id: Key | None = Field(None, description="held for this agent a while")
    note: str = Field("", max_length=500)


class CallbackOutcomeCommand(_Command):
    type: Literal["callback_outcome"]
    contact_id: Key
    outcome: Literal["reached", "no_answer", "busy", "invalid"]


class PingCommand(_Command):
    type: Literal["ping"]


Command = Annotated[
    PresenceCommand
    | NextPresenceCommand
    | AcceptCommand
    | RejectCommand
    | MessageCommand
    | CompleteCommand
    | EndWrapUpCommand
    | TransferCommand
    | CallbackOutcomeCommand
    | PingCommand,
    Field(discriminator="type"),
]
COMMAND = TypeAdapter(Command)
COMMAND_TYPES = (
    "presence",
    "next_presence",
    "accept",
    "reject",
    "message",
    "complete",
    "end_wrap_up",
    "transfer",
    "callback_outcome",
    "ping",
)
