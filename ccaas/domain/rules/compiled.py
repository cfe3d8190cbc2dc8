"""A routing document compiled once: CEL programs, calendars, relaxation steps and profiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ..models import Channel, ChannelRule, Membership, QueueSpec
from ..values import did_you_mean
from .conditions import CompiledCondition, ConditionError, Scope, compile_condition
from .hints import suggestion
from .hours import Calendar, zone
from .references import Loc, Problem, reference_problems
from .schema import (
    ClassificationRule,
    PriorityRule,
    RelaxationStep,
    RoutingConfig,
)

OVERFLOW_STEP = "overflow"


class RulesInvalid(ValueError):
    """The document cannot be used; each problem has the path of keys where it is."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """A relaxation step with its qualified key ("rule:vip/widen", "queue:billing/overflow")."""

    key: str
    step: RelaxationStep
    condition: CompiledCondition | None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: ClassificationRule
    condition: CompiledCondition | None
    steps: tuple[CompiledStep, ...]
    preferred_agent: CompiledCondition | None


@dataclass(frozen=True, eq=False)
class CompiledRules:
    config: RoutingConfig
    version: int = 0
    tz: ZoneInfo = field(default_factory=lambda: zone("UTC"))
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    rules: tuple[CompiledRule, ...] = ()
    priority_rules: tuple[tuple[PriorityRule, CompiledCondition], ...] = ()
    queue_steps: Mapping[str, tuple[CompiledStep, ...]] = field(default_factory=dict)
    channel_rules: Mapping[Channel, ChannelRule] = field(default_factory=dict)
    queue_specs: Mapping[str, QueueSpec] = field(default_factory=dict)
    needs_queue_stats: bool = False

    def rule(self, name: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.rule.name == name), None)

    def is_open(self, queue: str, now_ms: int) -> bool:
        calendar = self.calendars.get(queue)
        return calendar is None or calendar.is_open(now_ms)

    def steps_for(self, rule_name: str, queue: str) -> tuple[CompiledStep, ...]:
        """The steps that apply to a contact of `rule_name` now waiting in `queue`, in order."""
        rule = self.rule(rule_name)
        own = rule.steps if rule is not None and rule.rule.queue == queue else ()
        return own + self.queue_steps.get(queue, ())

    @property
    def has_relaxation(self) -> bool:
        return any(self.queue_steps.values()) or any(r.steps for r in self.rules)

    def memberships(self, profile_name: str, extra_queues: list[str]) -> Mapping[str, Membership]:
        """The queues an agent serves: its profile's (with priority and delay) plus its own."""
        result: dict[str, Membership] = {}
        profile = self.config.profiles.get(profile_name) if profile_name else None
        if profile is not None:
            for queue, entry in profile.queues.items():
                if queue in self.config.queues:
                    result[queue] = Membership(entry.priority, int(entry.delay_seconds * 1000))
        for queue in extra_queues:
            if queue in self.config.queues:
                result.setdefault(queue, Membership())
        return MappingProxyType(result)

    def capacity(self, profile_name: str, overrides: Mapping[str, int]) -> dict[str, int]:
        """Per-channel capacity: channel defaults, then the profile's, then the agent's own."""
        capacity = self.config.default_capacity()
        profile = self.config.profiles.get(profile_name) if profile_name else None
        if profile is not None:
            capacity.update({ch.value: n for ch, n in profile.capacity.items()})
        capacity.update({ch: n for ch, n in overrides.items() if ch in capacity})
        return capacity

    def max_total(self, profile_name: str) -> int:
        profile = self.config.profiles.get(profile_name) if profile_name else None
        return profile.max_total if profile is not None and profile.max_total else 0


def _condition(
    source: str | None, scope: Scope, loc: Loc, queues: frozenset[str], problems: list[Problem]
) -> CompiledCondition | None:
    if source is None:
        return None
    try:
        return compile_condition(source, scope, queues, ".".join(str(part) for part in loc))
    except ConditionError as exc:
        problems.append(Problem(loc, f"condition {source.strip()!r}: {exc}"))
        return None


def _steps(
    steps: list[RelaxationStep],
    prefix: str,
    loc: Loc,
    queues: frozenset[str],
    problems: list[Problem],
) -> tuple[CompiledStep, ...]:
    return tuple(
        CompiledStep(
            f"{prefix}/{step.name}",
            step,
            _condition(step.when, Scope.RELAXATION, (*loc, i, "when"), queues, problems),
        )
        for i, step in enumerate(steps)
    )


def compile_rules(config: RoutingConfig, version: int = 0) -> CompiledRules:
    """Compile a schema-valid document; RulesInvalid lists every problem found."""
    problems = reference_problems(config)
    names = frozenset(config.queues)
    queue_steps: dict[str, tuple[CompiledStep, ...]] = {}
    for name, queue in config.queues.items():
        steps = list(queue.relaxation)
        if queue.overflow.after_seconds is not None and queue.overflow.to is not None:
            steps.append(
                RelaxationStep(
                    name=OVERFLOW_STEP,
                    after_seconds=queue.overflow.after_seconds,
                    move_to=queue.overflow.to,
                )
            )
        if any(s.name == OVERFLOW_STEP for s in queue.relaxation) and len(steps) > len(
            queue.relaxation
        ):
            problems.append(
                Problem(("queues", name, "relaxation"), f"step name {OVERFLOW_STEP!r} is reserved")
            )
        queue_steps[name] = _steps(
            steps, f"queue:{name}", ("queues", name, "relaxation"), names, problems
        )
    rules = tuple(
        CompiledRule(
            rule,
            _condition(
                rule.when, Scope.CLASSIFICATION, ("classification", i, "when"), names, problems
            ),
            _steps(
                rule.relaxation,
                f"rule:{rule.name}",
                ("classification", i, "relaxation"),
                names,
                problems,
            ),
            _condition(
                rule.preferred_agent.agent if rule.preferred_agent else None,
                Scope.PREFERRED_AGENT,
                ("classification", i, "preferred_agent", "agent"),
                names,
                problems,
            ),
        )
        for i, rule in enumerate(config.classification)
    )
    priority_rules = []
    for i, priority_rule in enumerate(config.priority_rules):
        compiled = _condition(
            priority_rule.when, Scope.PRIORITY, ("priority_rules", i, "when"), names, problems
        )
        if compiled is not None:
            priority_rules.append((priority_rule, compiled))
    if problems:
        raise RulesInvalid(problems)
    calendars = {
        name: Calendar.build(config.hours[q.hours], config.timezone)
        for name, q in config.queues.items()
        if q.hours is not None
    }
    conditions = [r.condition for r in rules] + [c for _, c in priority_rules]
    return CompiledRules(
        config=config,
        version=version,
        tz=zone(config.timezone),
        calendars=MappingProxyType(calendars),
        rules=rules,
        priority_rules=tuple(priority_rules),
        queue_steps=MappingProxyType(queue_steps),
        channel_rules=config.channel_rules(),
        queue_specs=config.queue_specs(),
        needs_queue_stats=any(c is not None and "queues" in c.roots for c in conditions),
    )


def rules_from_document(document: object, version: int = 0) -> CompiledRules:
    """Validate and compile a parsed document; RulesInvalid for schema and reference problems."""
    try:
        config = RoutingConfig.model_validate(document)
    except ValidationError as exc:
        raise RulesInvalid(
            [Problem(tuple(e["loc"]), e["msg"] + suggestion(e)) for e in exc.errors()]
        ) from exc
    return compile_rules(config, version)


def summary(rules: CompiledRules) -> dict[str, int]:
    """How much the document holds, for `ccaas rules check` and the admin API."""
    config = rules.config
    return {
        "queues": len(config.queues),
        "profiles": len(config.profiles),
        "classification_rules": len(config.classification),
        "priority_rules": len(config.priority_rules),
        "relaxation_steps": sum(len(s) for s in rules.queue_steps.values())
        + sum(len(r.steps) for r in rules.rules),
        "hours": len(config.hours),
        "skills": len(config.skills or {}),
    }


__all__ = [
    "CompiledRules",
    "RulesInvalid",
    "compile_rules",
    "did_you_mean",
    "rules_from_document",
    "summary",
]
