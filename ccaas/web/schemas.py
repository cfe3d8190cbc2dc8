"""Request bodies of the HTTP API as strict pydantic models (unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.customer_profile import ProfileFields
from ..domain.identity import IdentityKind
from ..domain.models import Channel
from ..domain.values import Key, Level, Priority


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(_Body):
    """A contact arriving on a channel."""

    channel: Channel
    external_id: str = Field(min_length=1, max_length=200, description="the channel's own id")
    queue: Key | None = Field(None, description="left out: the classification rules choose")
    skills: dict[Key, Level] = Field(default_factory=dict, max_length=20)
    priority: Priority = 0
    customer: dict[str, Any] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=50)


class AgentActionIn(_Body):
    """Who answers an offer: only the agent it rings for can accept or reject it."""

    agent_id: Key = Field(description="the acting agent; any other agent's offer is refused")


class CompleteIn(_Body):
    agent_id: Key = Field(description="the acting agent: the one the contact is connected to")
    disposition: str = Field("", max_length=200)
    notes: str = Field("", max_length=4000)


class AgentIn(_Body):
    """An agent's profile; presence is set separately."""

    name: str = Field(min_length=1, max_length=200)
    profile: Key | None = Field(None, description="routing profile from the rules")
    skills: dict[Key, Level] = Field(default_factory=dict, max_length=100)
    queues: list[Key] = Field(default_factory=list, max_length=100)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=100, strict=True)]] = Field(
        default_factory=dict
    )


class PresenceIn(_Body):
    presence: Literal["available", "away", "offline"]
    reason: str = Field("", max_length=100, description="why away, e.g. break, lunch")


class CustomerPatchIn(ProfileFields):
    """Profile fields to set; null removes one. Identities are added separately."""


class IdentityIn(_Body):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=800)


class IdentitiesIn(_Body):
    identities: list[IdentityIn] = Field(min_length=1, max_length=20)


class MergeIn(_Body):
    from_: Key = Field(alias="from", description="the customer joined into this one")


class SignInIn(_Body):
    """An agent signs in with its id and password."""

    agent_id: Key
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(_Body):
    """An agent's new password (8 to 256 characters)."""

    password: str = Field(min_length=8, max_length=256)


class TokenIn(_Body):
    """A token for an integration or a person: its role, a name for the logs, its life."""

    role: Literal["admin", "supervisor", "agent", "adapter"]
    name: Key = Field(description="who holds it (an agent's id for role agent)")
    days: int = Field(90, ge=1, le=3650, description="how long it is valid")


class MessageIn(_Body):
    """A message of the customer's side of a conversation (or a system note)."""

    text: str = Field(min_length=1, max_length=4000)
    sender: Literal["customer", "system"] = Field(
        "customer", alias="from", description="whose side: the customer's, or the system's"
    )
