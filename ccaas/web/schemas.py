"""Request bodies of the HTTP API as strict pydantic models (unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.customer_profile import ProfileFields
from ..domain.identity import IdentityKind
from ..domain.models import Channel
from ..domain.values import VOICE_ENDPOINT, Key, Level
from ..ingest.payloads import ContactIn, MessageIn

__all__ = ["ContactIn", "MessageIn"]  # with the models below: every body the API reads


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    voice_endpoint: str | None = Field(
        None,
        max_length=200,
        pattern=VOICE_ENDPOINT,
        description="where the calls it accepts are put through: sip:user@host or +E.164",
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


class CallbackIn(_Body):
    """The number to call the customer back on (E.164, or national in the rules' region)."""

    number: str = Field(min_length=3, max_length=40)


class CallbackOutcomeIn(_Body):
    agent_id: Key = Field(description="the acting agent: the one the callback is connected to")
    outcome: Literal["reached", "no_answer", "busy", "invalid"]


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
