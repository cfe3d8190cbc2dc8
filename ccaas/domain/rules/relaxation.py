"""Relaxation: which steps of a waiting contact are due, and what each changes.

A step fires once per contact, when its trigger holds: after_seconds in the current queue,
a live condition, or both together. Steps due at the same time apply in list order, and a
move to another queue ends the steps of the old queue. A step never changes the contact's
arrival time, so the contact keeps its place: only a priority change moves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import Channel, WaitingContact
from ..values import clamp_priority
from .compiled import CompiledRules, CompiledStep
from .conditions import ConditionWarning, EvaluationError, MissingValue


@dataclass(frozen=True, slots=True)
class Effect:
    """A step's change, as the relax script applies it."""

    require: Mapping[str, int]
    drop: tuple[str, ...]
    add_priority: int
    move_to: str | None


NO_EFFECT = Effect({}, (), 0, None)


def effect_of(step: CompiledStep, rules: CompiledRules, channel: Channel) -> Effect | None:
    """The step's effect, or None when it moves to a queue that does not take the channel."""
    s = step.step
    if s.move_to is not None and channel not in rules.config.queues[s.move_to].channels:
        return None
    return Effect(dict(s.require), tuple(s.drop), s.add_priority, s.move_to)


def apply_effect(
    skills: Mapping[str, int], priority: int, queue: str, effect: Effect
) -> tuple[dict[str, int], int, str]:
    """Requirements, priority and queue after the effect (the same sums relax.lua does)."""
    result = {k: v for k, v in skills.items() if k not in effect.drop}
    result.update(effect.require)
    return result, clamp_priority(priority + effect.add_priority), effect.move_to or queue


def due_steps(
    rules: CompiledRules,
    contact: WaitingContact,
    now_ms: int,
    variables: Mapping[str, Any],
    helpers: Mapping[str, Any],
    warnings: list[ConditionWarning] | None = None,
) -> list[CompiledStep]:
    """Steps of the contact that have not fired and whose trigger holds now, in order."""
    due: list[CompiledStep] = []
    in_queue_s = (now_ms - contact.queue_since_ms) / 1000
    for step in rules.steps_for(contact.rule, contact.queue):
        if step.key in contact.relaxed:
            continue
        after = step.step.after_seconds
        if after is not None and in_queue_s < after:
            continue
        if step.condition is not None:
            try:
                if not step.condition.holds(variables, helpers):
                    continue
            except MissingValue:
                continue
            except EvaluationError as exc:
                if warnings is not None:
                    warnings.append((exc.field, str(exc)))
                continue
        due.append(step)
        if step.step.move_to is not None:
            break
    return due
