"""Checks across the routing document: every name it uses exists, hours do not overlap, no loops."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..values import did_you_mean
from .hours import overlaps, zone
from .schema import RelaxationStep, RoutingConfig

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the document, at `loc` (the path of keys to it)."""

    loc: Loc
    message: str


def _missing(kind: str, name: str, where: str, known: Iterable[str]) -> str:
    return f"{kind} {name!r} {where} does not exist{did_you_mean(name, known)}"


def _step_problems(
    config: RoutingConfig, steps: list[RelaxationStep], loc: Loc, owner: str, own_queue: str | None
) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, step in enumerate(steps):
        where = f"in step {step.name!r} of {owner}"
        if step.name in seen:
            yield Problem((*loc, i, "name"), f"step name {step.name!r} is used twice in {owner}")
        seen.add(step.name)
        if step.move_to is not None and step.move_to not in config.queues:
            yield Problem(
                (*loc, i, "move_to"), _missing("queue", step.move_to, where, config.queues)
            )
        elif step.move_to is not None and step.move_to == own_queue:
            yield Problem((*loc, i, "move_to"), f"step {step.name!r} moves to its own queue")
        elif (
            step.move_to is not None
            and own_queue in config.queues
            and not set(config.queues[step.move_to].channels)
            & set(config.queues[own_queue].channels)
        ):
            yield Problem(
                (*loc, i, "move_to"),
                f"step {step.name!r} moves to {step.move_to!r}, "
                f"which takes none of {own_queue!r}'s channels",
            )
        for skill in [*step.require, *step.drop]:
            if config.skills is not None and skill not in config.skills:
                field = "require" if skill in step.require else "drop"
                yield Problem((*loc, i, field), _missing("skill", skill, where, config.skills))


def _overflow_loops(config: RoutingConfig) -> Iterator[Problem]:
    for kind in ("closed", "full", "to"):
        for start in config.queues:
            path, current = [start], start
            while True:
                target = getattr(config.queues[current].overflow, kind)
                if target is None or target not in config.queues or target == current:
                    break  # a queue overflowing to itself is reported on its own
                if target in path:
                    if target == start:
                        chain = " -> ".join([*path, target])
                        yield Problem(
                            ("queues", start, "overflow", kind),
                            f"overflow '{kind}' of queue {start!r} loops: {chain}",
                        )
                    break
                path.append(target)
                current = target


def reference_problems(config: RoutingConfig) -> list[Problem]:
    """Every broken cross-reference of a schema-valid document, in document order."""
    problems: list[Problem] = []
    add = problems.append
    queues, profiles = config.queues, config.profiles
    try:
        zone(config.timezone)
    except ValueError as exc:
        add(Problem(("timezone",), str(exc)))
    for name, hours in config.hours.items():
        if hours.timezone is not None:
            try:
                zone(hours.timezone)
            except ValueError as exc:
                add(Problem(("hours", name, "timezone"), str(exc)))
        for key, message in overlaps(hours):
            add(Problem(("hours", name, "open", key), f"hours {name!r}: {message}"))
    for name, queue in queues.items():
        if queue.hours is not None and queue.hours not in config.hours:
            add(
                Problem(
                    ("queues", name, "hours"),
                    _missing("hours", queue.hours, f"of queue {name!r}", config.hours),
                )
            )
        for kind in ("closed", "full", "to"):
            target = getattr(queue.overflow, kind)
            if target is None:
                continue
            loc: Loc = ("queues", name, "overflow", kind)
            if target not in queues:
                add(Problem(loc, _missing("queue", target, f"in overflow of {name!r}", queues)))
            elif target == name:
                add(Problem(loc, f"queue {name!r} overflows to itself"))
            elif not set(queues[target].channels) & set(queue.channels):
                add(Problem(loc, f"overflow target {target!r} takes none of {name!r}'s channels"))
        problems.extend(
            _step_problems(
                config, queue.relaxation, ("queues", name, "relaxation"), f"queue {name!r}", name
            )
        )
    problems.extend(_overflow_loops(config))
    for name, profile in profiles.items():
        for queue_name in profile.queues:
            if queue_name not in queues:
                add(
                    Problem(
                        ("profiles", name, "queues", queue_name),
                        _missing("queue", queue_name, f"in profile {name!r}", queues),
                    )
                )
    rule_names: set[str] = set()
    for i, rule in enumerate(config.classification):
        loc = ("classification", i)
        if rule.name in rule_names:
            add(Problem((*loc, "name"), f"rule name {rule.name!r} is used twice"))
        rule_names.add(rule.name)
        if rule.queue not in queues:
            add(
                Problem(
                    (*loc, "queue"), _missing("queue", rule.queue, f"in rule {rule.name!r}", queues)
                )
            )
        if rule.when is None and i != len(config.classification) - 1:
            add(Problem(loc, f"rule {rule.name!r} has no 'when' (a default rule) but is not last"))
        for skill in rule.skills:
            if config.skills is not None and skill not in config.skills:
                add(
                    Problem(
                        (*loc, "skills", skill),
                        _missing("skill", skill, f"in rule {rule.name!r}", config.skills),
                    )
                )
        problems.extend(
            _step_problems(
                config, rule.relaxation, (*loc, "relaxation"), f"rule {rule.name!r}", rule.queue
            )
        )
    names: set[str] = set()
    for i, priority_rule in enumerate(config.priority_rules):
        if priority_rule.name in names:
            add(
                Problem(
                    ("priority_rules", i, "name"),
                    f"priority rule name {priority_rule.name!r} is used twice",
                )
            )
        names.add(priority_rule.name)
    return problems
