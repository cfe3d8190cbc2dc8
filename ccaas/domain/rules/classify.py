"""Classification of a new contact: the first matching rule, priority rules, hours and overflow.

Every contact ends with exactly one queue, or a Rejection whose reason is one of REASONS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..intake import NewContact
from ..models import Channel
from ..values import clamp_priority
from .compiled import CompiledRules
from .conditions import CompiledCondition, ConditionWarning, EvaluationError, MissingValue
from .facts import QueueStats, contact_vars, customer_vars, helpers, now_vars

EXPLICIT_RULE = "(requested queue)"
PRIORITY_RULE = "priority rule "
REASONS = {
    "no_rule": "no classification rule matched and there is no default rule",
    "closed": "the queue is closed and has no open overflow that takes the channel",
    "full": "the queue is full and has no overflow with room that takes the channel",
}


class Rejection(Exception):
    """The contact cannot be queued; `reason` is a key of REASONS."""

    def __init__(
        self,
        reason: str,
        queue: str | None,
        rule: str | None,
        warnings: tuple[ConditionWarning, ...] = (),
    ) -> None:
        super().__init__(f"{REASONS[reason]} (queue {queue!r}, rule {rule!r})")
        self.reason, self.queue, self.rule = reason, queue, rule
        self.warnings = warnings  # conditions that failed on the way (they count as false)


@dataclass(frozen=True, slots=True)
class Classified:
    """Where a contact goes and why: rule, queue, requirements and the terms of its priority."""

    rule: str
    queue: str
    skills: dict[str, int]
    priority_terms: tuple[tuple[str, int], ...]
    tags: tuple[str, ...]
    preferred_agent: str = ""
    hold_ms: int = 0
    overflowed: tuple[tuple[str, str], ...] = ()  # (from queue, reason) for each hop
    warnings: tuple[ConditionWarning, ...] = field(default=())

    @property
    def priority(self) -> int:
        return clamp_priority(sum(delta for _, delta in self.priority_terms))


def _holds(
    condition: CompiledCondition | None,
    variables: Mapping[str, Any],
    fns: Mapping[str, Any],
    warnings: list[ConditionWarning],
) -> bool:
    if condition is None:
        return True
    try:
        return condition.holds(variables, fns)
    except MissingValue:
        return False
    except EvaluationError as exc:
        warnings.append((exc.field, str(exc)))
        return False


def overflow_target(
    rules: CompiledRules, queue: str, reason: str, channel: Channel, now_ms: int
) -> str | None:
    """The queue that takes a contact `queue` cannot ('closed' or 'full'), or None."""
    spec = rules.config.queues[queue]
    target = getattr(spec.overflow, reason)
    if target is None or channel not in rules.config.queues[target].channels:
        return None
    return str(target)


def route_to_open_queue(
    rules: CompiledRules, queue: str, channel: Channel, now_ms: int, rule: str | None = None
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Follow 'closed' overflow from `queue` until an open queue; Rejection if none."""
    hops: list[tuple[str, str]] = []
    while not rules.is_open(queue, now_ms):
        target = overflow_target(rules, queue, "closed", channel, now_ms)
        if target is None or len(hops) > len(rules.config.queues):
            raise Rejection("closed", queue, rule)
        hops.append((queue, "closed"))
        queue = target
    return queue, tuple(hops)


def _variables(
    contact: NewContact,
    rules: CompiledRules,
    now_ms: int,
    queue_stats: Mapping[str, QueueStats] | None,
) -> dict[str, Any]:
    if not rules.priority_rules and not (rules.rules and not contact.queue):
        return {}  # no condition will read them
    queues = {name: s.as_vars() for name, s in (queue_stats or {}).items()}
    for name in rules.config.queues:
        queues.setdefault(name, QueueStats(name).as_vars())
    return {
        "customer": customer_vars(contact.customer),
        "now": now_vars(now_ms, rules),
        "queues": queues,
    }


def _contact_facts(
    contact: NewContact, queue: str, skills: Mapping[str, int], priority: int, tags: Any, rule: str
) -> dict[str, Any]:
    return contact_vars(
        channel=contact.channel.value,
        queue=queue,
        skills=skills,
        priority=priority,
        tags=list(tags),
        attributes=contact.attributes,
        external_id=contact.external_id,
        rule=rule,
        repeat=bool(contact.repeat_of),
    )


def _with_priority_rules(
    contact: NewContact,
    where: Classified,
    rules: CompiledRules,
    now_ms: int,
    variables: dict[str, Any],
) -> Classified:
    """`where` with the priority rules evaluated for its queue (replacing earlier ones)."""
    if not rules.priority_rules and not any(
        t[0].startswith(PRIORITY_RULE) for t in where.priority_terms
    ):
        return where
    warnings = list(where.warnings)
    terms = [t for t in where.priority_terms if not t[0].startswith(PRIORITY_RULE)]
    if rules.priority_rules:
        fns = helpers(rules, now_ms)
        priority = sum(d for _, d in terms)
        variables = {
            **variables,
            "contact": _contact_facts(
                contact, where.queue, where.skills, priority, where.tags, where.rule
            ),
        }
        for priority_rule, condition in rules.priority_rules:
            if _holds(condition, variables, fns, warnings):
                terms.append((f"{PRIORITY_RULE}{priority_rule.name}", priority_rule.add))
    return dataclasses.replace(where, priority_terms=tuple(terms), warnings=tuple(warnings))


def retarget(
    contact: NewContact,
    where: Classified,
    reason: str,
    rules: CompiledRules,
    now_ms: int,
    queue_stats: Mapping[str, QueueStats] | None = None,
) -> Classified:
    """Send a classified contact on from its queue ('full'); Rejection when nowhere takes it.

    The priority rules are evaluated again, since they may look at the queue.
    """
    target = overflow_target(rules, where.queue, reason, contact.channel, now_ms)
    if target is None:
        raise Rejection(reason, where.queue, where.rule)
    queue, hops = route_to_open_queue(rules, target, contact.channel, now_ms, where.rule)
    moved = dataclasses.replace(
        where, queue=queue, overflowed=(*where.overflowed, (where.queue, reason), *hops)
    )
    return _with_priority_rules(
        contact, moved, rules, now_ms, _variables(contact, rules, now_ms, queue_stats)
    )


def classify(
    contact: NewContact,
    rules: CompiledRules,
    now_ms: int,
    queue_stats: Mapping[str, QueueStats] | None = None,
) -> Classified:
    """Decide the queue, requirements, priority, tags and preferred agent of a new contact."""
    warnings: list[ConditionWarning] = []
    variables = _variables(contact, rules, now_ms, queue_stats)
    preferred, hold_ms = "", 0
    if contact.queue:
        rule_name, queue, skills = EXPLICIT_RULE, contact.queue, dict(contact.skills)
        terms: list[tuple[str, int]] = [("requested", contact.priority)] if contact.priority else []
        tags: list[str] = []
    else:
        fns = helpers(rules, now_ms)
        variables["contact"] = _contact_facts(contact, "", contact.skills, contact.priority, [], "")
        for compiled in rules.rules:
            rule = compiled.rule
            if contact.channel not in rules.config.queues[rule.queue].channels:
                continue  # a rule only takes contacts on channels its queue takes
            if _holds(compiled.condition, variables, fns, warnings):
                break
        else:
            raise Rejection("no_rule", None, None, tuple(warnings))
        rule_name, queue = rule.name, rule.queue
        skills = dict(rule.skills)
        for skill, level in contact.skills.items():
            skills[skill] = max(level, skills.get(skill, 0))
        terms = [(f"rule {rule.name}", rule.priority)] if rule.priority else []
        if contact.priority:
            terms.append(("requested", contact.priority))
        tags = list(rule.tags)
        if compiled.preferred_agent is not None and rule.preferred_agent is not None:
            try:
                agent = compiled.preferred_agent.value(variables, fns)
            except MissingValue:
                agent = None
            except EvaluationError as exc:
                warnings.append((exc.field, str(exc)))
                agent = None
            if isinstance(agent, str) and agent:
                preferred, hold_ms = agent, int(rule.preferred_agent.hold_seconds * 1000)
    queue, hops = route_to_open_queue(rules, queue, contact.channel, now_ms, rule_name)
    where = Classified(
        rule=rule_name,
        queue=queue,
        skills=skills,
        priority_terms=tuple(terms),
        tags=tuple(tags),
        preferred_agent=preferred,
        hold_ms=hold_ms,
        overflowed=hops,
        warnings=tuple(warnings),
    )
    return _with_priority_rules(contact, where, rules, now_ms, variables)
