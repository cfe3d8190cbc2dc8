"""The routing document (config/routing.yaml) as validated values (cross-checks: references)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..models import Channel, ChannelRule, QueueSpec, Strategy
from ..values import DAYS, Level, Name, Priority

QueueName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Condition = Annotated[str, Field(min_length=1, max_length=2000, description="a CEL expression")]
# a wrap-up code is a short word, never free text: free text (notes) is personal data
WrapUpCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
WrapUpCodes = Annotated[list[WrapUpCode], Field(min_length=1, max_length=50)]
DEFAULT_WRAP_UP_CODES = ("resolved", "follow_up", "no_answer", "transferred", "other")
DEFAULT_AWAY_REASONS = ("break", "lunch", "meeting", "training", "coaching")


def _distinct(codes: list[str] | None) -> list[str] | None:
    if codes is not None and len(set(codes)) != len(codes):
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        raise ValueError(f"wrap-up codes repeated: {', '.join(repeated)}")
    return codes


def _distinct_reason_list(reasons: list[str]) -> list[str]:
    if len(set(reasons)) != len(reasons):
        repeated = sorted({reason for reason in reasons if reasons.count(reason) > 1})
        raise ValueError(f"away reasons repeated: {', '.join(repeated)}")
    return reasons


_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ChannelConfig(_Strict):
    capacity: int = Field(ge=0, le=100, description="contacts of this channel an agent may hold")
    exclusive: bool = Field(False, description="needs an agent with no other work; blocks new work")


def day_names(key: str) -> list[str]:
    """'mon-fri' -> ['mon', ..., 'fri']; 'sat' -> ['sat']; anything else -> []."""
    first, _, last = key.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        return []
    start, end = DAYS.index(first), DAYS.index(last or first)
    return list(DAYS[start : end + 1]) if start <= end else []


def span_minutes(span: str) -> tuple[int, int]:
    """'08:00-20:00' -> (480, 1200), minutes from midnight; the end may be 24:00."""
    match = _SPAN.match(span)
    if not match:
        raise ValueError(f"{span!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or end <= start:
        raise ValueError(f"{span!r} must end after it starts, on the same day (at most 24:00)")
    return start, end


class HoursConfig(_Strict):
    """Opening hours: weekly spans in a timezone, closed on the holidays."""

    timezone: str | None = Field(None, description="IANA name; default: the document's timezone")
    open: dict[str, list[str]] = Field(
        min_length=1, description="day or day range (mon-fri) -> spans 'HH:MM-HH:MM'"
    )
    holidays: list[str] = Field(default_factory=list, description="dates YYYY-MM-DD, closed")

    @field_validator("open")
    @classmethod
    def _days_and_spans(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, spans in value.items():
            if not day_names(key):
                raise ValueError(f"{key!r} is not a day (mon..sun) or a range like mon-fri")
            for span in spans:
                span_minutes(span)
        return value

    @field_validator("holidays")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        for day in value:
            try:
                valid = bool(_DATE.match(day)) and date.fromisoformat(day) is not None
            except ValueError:
                valid = False
            if not valid:
                raise ValueError(f"holiday {day!r} is not a date written YYYY-MM-DD")
        return value


class RelaxationStep(_Strict):
    """One step: when it triggers, and what it changes about the waiting contact."""

    name: Name
    after_seconds: float | None = Field(None, ge=0, description="seconds in the queue")
    when: Condition | None = Field(None, description="a live condition (CEL)")
    require: dict[str, Level] = Field(
        default_factory=dict, description="skills to add, or whose minimum level to change"
    )
    drop: list[str] = Field(default_factory=list, description="skills no longer required")
    add_priority: Priority = 0
    move_to: QueueName | None = None

    @model_validator(mode="after")
    def _trigger_and_effect(self) -> RelaxationStep:
        if self.after_seconds is None and self.when is None:
            raise ValueError("a step needs a trigger: after_seconds, when, or both")
        if not (self.require or self.drop or self.add_priority or self.move_to):
            raise ValueError("a step needs an effect: require, drop, add_priority or move_to")
        both = set(self.require) & set(self.drop)
        if both:
            raise ValueError(f"skill {sorted(both)[0]!r} is both required and dropped")
        return self


class OverflowConfig(_Strict):
    """Where contacts go instead of this queue."""

    closed: QueueName | None = Field(None, description="target while the queue is closed")
    full: QueueName | None = Field(None, description="target while the queue is at max_size")
    after_seconds: float | None = Field(None, gt=0, description="move waiting contacts after")
    to: QueueName | None = Field(None, description="target of after_seconds")

    @model_validator(mode="after")
    def _pair(self) -> OverflowConfig:
        if (self.after_seconds is None) != (self.to is None):
            raise ValueError("after_seconds and to go together")
        return self


class CallbackConfig(_Strict):
    """What becomes of a callback whose customer did not answer (or was busy)."""

    retry_delay_seconds: float = Field(
        300.0, ge=0, le=7 * 86400, description="it waits this long, then is offered again"
    )
    max_attempts: int = Field(3, ge=1, le=20, description="calls made before it is given up")


class QueueConfig(_Strict):
    channels: list[Channel] = Field(min_length=1)
    sla_seconds: int = Field(20, ge=1)
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout_seconds: float = Field(20.0, gt=0, le=3600)
    wrap_up_seconds: float = Field(0.0, ge=0, le=3600)
    max_size: int | None = Field(None, ge=1, description="waiting contacts; then overflow.full")
    hours: str | None = Field(None, description="name of an entry in hours; default: always open")
    expected_handle_seconds: float = Field(
        180.0, gt=0, description="handle time used for the expected wait (EWT)"
    )
    reject_cooldown_seconds: float = Field(
        60.0, ge=0, le=3600, description="an agent who rejected a contact is passed over"
    )
    overflow: OverflowConfig = Field(default_factory=OverflowConfig)
    relaxation: list[RelaxationStep] = Field(default_factory=list)
    wrap_up_codes: WrapUpCodes | None = Field(
        None, description="dispositions an agent may complete with; default: the top-level list"
    )
    wrap_up_code_required: bool = Field(
        False, description="a contact of this queue is completed only with a wrap-up code"
    )
    callback: CallbackConfig = Field(default_factory=CallbackConfig)

    _distinct_codes = field_validator("wrap_up_codes")(_distinct)


class ProfileQueue(_Strict):
    priority: int = Field(1, ge=1, le=100, description="1 is served first")
    delay_seconds: float = Field(0.0, ge=0, description="take contacts that waited at least")


class ProfileConfig(_Strict):
    """What a kind of agent serves and how much it may hold."""

    queues: dict[QueueName, ProfileQueue] = Field(min_length=1)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    max_total: int | None = Field(None, ge=1, le=100, description="contacts across channels")

    @field_validator("queues", mode="before")
    @classmethod
    def _list_form(cls, value: object) -> object:
        return {name: {} for name in value} if isinstance(value, list) else value


class PreferredAgent(_Strict):
    agent: Condition = Field(description="CEL giving the agent id, e.g. contact.attributes.agent")
    hold_seconds: float = Field(gt=0, le=3600)


class ClassificationRule(_Strict):
    name: Name
    when: Condition | None = Field(None, description="CEL; left out: the default rule (last)")
    queue: QueueName
    skills: dict[str, Level] = Field(default_factory=dict)
    priority: Priority = 0
    tags: list[Name] = Field(default_factory=list)
    relaxation: list[RelaxationStep] = Field(default_factory=list)
    preferred_agent: PreferredAgent | None = None


class PriorityRule(_Strict):
    name: Name
    when: Condition
    add: Priority


DEFAULT_CHANNELS = {
    Channel.VOICE: ChannelConfig(capacity=1, exclusive=True),
    Channel.CHAT: ChannelConfig(capacity=3),
    Channel.EMAIL: ChannelConfig(capacity=2),
    Channel.SOCIAL: ChannelConfig(capacity=3),
}


class RoutingConfig(_Strict):
    """config/routing.yaml: channels, skills, hours, queues, profiles and rules."""

    timezone: str = Field("UTC", description="IANA name used by hours and `now`")
    phone_region: str = Field(
        "GB", pattern=r"^[A-Z]{2}$", description="region of national phone numbers (ISO 3166)"
    )
    skills: dict[Name, str] | None = Field(
        None, description="catalogue: skill -> description; when given, every skill is checked"
    )
    channels: dict[Channel, ChannelConfig] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    hours: dict[Name, HoursConfig] = Field(default_factory=dict)
    queues: dict[QueueName, QueueConfig] = Field(min_length=1)
    profiles: dict[Name, ProfileConfig] = Field(default_factory=dict)
    classification: list[ClassificationRule] = Field(default_factory=list)
    priority_rules: list[PriorityRule] = Field(default_factory=list)
    repeat_window_seconds: float = Field(
        7 * 86400, ge=0, description="a contact within this long of the customer's last is a repeat"
    )
    aging_seconds_per_priority: float = Field(
        10.0, ge=0, description="seconds of waiting one priority point is worth"
    )
    max_missed_offers: int = Field(3, ge=1, description="ring-outs in a row before 'no answer'")
    away_reasons: list[Name] = Field(
        default_factory=lambda: list(DEFAULT_AWAY_REASONS),
        min_length=1,
        max_length=50,
        description="why an agent may say it is away (the engine's own: no answer, disconnected)",
    )
    wrap_up_codes: WrapUpCodes = Field(
        default_factory=lambda: list(DEFAULT_WRAP_UP_CODES),
        description="dispositions of every queue that names none of its own",
    )

    _distinct_codes = field_validator("wrap_up_codes")(_distinct)
    _distinct_reasons = field_validator("away_reasons")(_distinct_reason_list)

    @field_validator("skills", mode="before")
    @classmethod
    def _skill_list(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        for i, name in enumerate(value):
            if not isinstance(name, str):
                raise ValueError(f"item {i} of the skills list must be a skill name, not a list")
        return dict.fromkeys(value, "")

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
                    reject_cooldown_seconds=q.reject_cooldown_seconds,
                )
                for name, q in self.queues.items()
            }
        )

    def wrap_up_codes_of(self, queue: str) -> tuple[str, ...]:
        """The dispositions a contact of `queue` may be completed with (a queue since
        removed: the top-level list)."""
        own = self.queues[queue].wrap_up_codes if queue in self.queues else None
        return tuple(own if own is not None else self.wrap_up_codes)

    def wrap_up_code_required(self, queue: str) -> bool:
        """Whether a contact of `queue` needs a wrap-up code to be completed."""
        return queue in self.queues and self.queues[queue].wrap_up_code_required

    def exclusive_channels(self) -> str:
        return ",".join(sorted(ch for ch, cfg in self.channels.items() if cfg.exclusive))

    def default_capacity(self) -> dict[str, int]:
        return {ch.value: cfg.capacity for ch, cfg in self.channels.items()}
