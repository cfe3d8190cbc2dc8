"""Routing configuration as validated values: channel capacity rules, queues, aging, offers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import Channel, ChannelRule, QueueSpec, Strategy

QueueName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Strict):
    capacity: int = Field(ge=0, le=100, description="contacts of this channel an agent may hold")
    exclusive: bool = Field(False, description="needs an agent with no other work; blocks new work")


class QueueConfig(_Strict):
    channels: list[Channel] = Field(min_length=1)
    sla_seconds: int = Field(20, ge=1)
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout_seconds: float = Field(20.0, gt=0, le=3600)
    wrap_up_seconds: float = Field(0.0, ge=0, le=3600)


DEFAULT_CHANNELS = {
    Channel.VOICE: ChannelConfig(capacity=1, exclusive=True),
    Channel.CHAT: ChannelConfig(capacity=3),
    Channel.EMAIL: ChannelConfig(capacity=2),
    Channel.SOCIAL: ChannelConfig(capacity=3),
}


class RoutingConfig(_Strict):
    """The part of config/routing.yaml the routing core needs."""

    channels: dict[Channel, ChannelConfig] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    queues: dict[QueueName, QueueConfig] = Field(min_length=1)
    aging_seconds_per_priority: float = Field(
        10.0, ge=0, description="seconds of waiting one priority point is worth"
    )
    max_missed_offers: int = Field(3, ge=1, description="ring-outs in a row before 'no answer'")

    @model_validator(mode="after")
    def _all_channels(self) -> RoutingConfig:
        merged = dict(DEFAULT_CHANNELS)
        merged.update(self.channels)
        object.__setattr__(self, "channels", merged)
        return self

    def channel_rules(self) -> Mapping[Channel, ChannelRule]:
        return MappingProxyType(
            {ch: ChannelRule(cfg.capacity, cfg.exclusive) for ch, cfg in self.channels.items()}
        )

    def queue_specs(self) -> Mapping[str, QueueSpec]:
        return MappingProxyType(
            {
                name: QueueSpec(
                    name=name,
                    channels=frozenset(q.channels),
                    sla_seconds=q.sla_seconds,
                    strategy=q.strategy,
                    offer_timeout_seconds=q.offer_timeout_seconds,
                    wrap_up_seconds=q.wrap_up_seconds,
                )
                for name, q in self.queues.items()
            }
        )

    def exclusive_channels(self) -> str:
        return ",".join(sorted(ch for ch, cfg in self.channels.items() if cfg.exclusive))

    def default_capacity(self) -> dict[str, int]:
        return {ch.value: cfg.capacity for ch, cfg in self.channels.items()}
