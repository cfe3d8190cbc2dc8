"""Relaxation: when steps fall due, what they change, and that relaxing never loses a
contact nor reorders the ones it did not re-prioritise."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ccaas.domain.models import Channel, WaitingContact
from ccaas.domain.ordering import order_key, order_score
from ccaas.domain.rules.compiled import CompiledRules, rules_from_document
from ccaas.domain.rules.facts import QueueStats, helpers, relaxation_variables
from ccaas.domain.rules.relaxation import Effect, apply_effect, due_steps, effect_of
from tests.unit.rules_strategies import NOW_MIN, SKILLS, pick, routing_documents, skill_levels

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = NOW_MIN + 3_600_000  # when the contacts below entered their queue
SECOND = 1000


def load(text: str) -> CompiledRules:
    return rules_from_document(YAML(typ="safe", pure=True).load(text))


def waiting(
    rules: CompiledRules,
    *,
    id: str = "c1",
    queue: str = "billing",
    channel: Channel = Channel.VOICE,
    rule: str = "",
    priority: int = 0,
    first_ms: int = T0,
    since_ms: int = T0,
    skills: dict[str, int] | None = None,
    relaxed: frozenset[str] = frozenset(),
) -> WaitingContact:
    aging = rules.config.aging_seconds_per_priority
    return WaitingContact(
        id=id,
        queue=queue,
        channel=channel,
        skills=dict(skills or {}),
        priority=priority,
        first_enqueued_ms=first_ms,
        score=order_score(priority, first_ms, aging),
        queue_since_ms=since_ms,
        rule=rule,
        relaxed=relaxed,
    )


def variables(
    rules: CompiledRules,
    contact: WaitingContact,
    now_ms: int,
    stats: dict[str, QueueStats] | None = None,
    eligible: int = 0,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a relaxation condition sees (the relaxer's own builder)."""
    facts = {"attributes": attributes or {}}
    return relaxation_variables(contact, facts, stats or {}, eligible, rules, now_ms)


def due_keys(
    rules: CompiledRules,
    contact: WaitingContact,
    now_ms: int,
    stats: dict[str, QueueStats] | None = None,
    eligible: int = 0,
    warnings: list[tuple[str, str]] | None = None,
    attributes: dict[str, Any] | None = None,
) -> list[str]:
    found = due_steps(
        rules,
        contact,
        now_ms,
        variables(rules, contact, now_ms, stats, eligible, attributes),
        helpers(rules, now_ms),
        warnings,
    )
    return [step.key for step in found]


def relax(
    rules: CompiledRules, contact: WaitingContact, now_ms: int, vars_: dict[str, Any]
) -> tuple[WaitingContact, list[tuple[dict[str, int], Any]]]:
    """One pass of the relaxer over one contact: every due step, in order, with the score
    rewritten as relax.lua does. Returns the contact and, for each step
    applied, the requirements before it and its effect."""
    aging = rules.config.aging_seconds_per_priority
    applied = []
    for step in due_steps(rules, contact, now_ms, vars_, helpers(rules, now_ms)):
        effect = effect_of(step, rules, contact.channel)
        if effect is None:  # a move the channel cannot take: recorded as fired, no change
            effect = Effect({}, (), 0, None)
        before = dict(contact.skills)
        skills, priority, queue = apply_effect(
            contact.skills, contact.priority, contact.queue, effect
        )
        contact = dataclasses.replace(
            contact,
            skills=skills,
            priority=priority,
            queue=queue,
            score=contact.first_enqueued_ms - priority * aging * 1000,
            relaxed=contact.relaxed | {step.key},
            queue_since_ms=now_ms if effect.move_to else contact.queue_since_ms,
        )
        applied.append((before, effect))
    return contact, applied


# --- when a step falls due ----------------------------------------------------------------

ONE_STEP = """
queues:
  billing:
    channels: [voice, chat]
    relaxation:
      - {{name: s, {trigger}, add_priority: 1}}
"""


@PROPERTY
@given(
    after=st.decimals(min_value=0, max_value=3600, places=3),
    elapsed_ms=st.integers(min_value=0, max_value=7_300_000),
)
def test_rules_a_time_step_falls_due_exactly_after_its_seconds_in_queue(
    after: Decimal, elapsed_ms: int
) -> None:
    rules = load(ONE_STEP.format(trigger=f"after_seconds: {after}"))
    contact = waiting(rules, first_ms=T0 - 50_000, since_ms=T0)
    due = due_keys(rules, contact, T0 + elapsed_ms)
    assert due == (["queue:billing/s"] if elapsed_ms >= after * 1000 else [])


@PROPERTY
@given(waiting_now=st.integers(0, 10), elapsed_ms=st.integers(0, 10**7))
def test_rules_a_condition_step_falls_due_exactly_when_it_holds(
    waiting_now: int, elapsed_ms: int
) -> None:
    rules = load(ONE_STEP.format(trigger='when: "queue.waiting > 3"'))
    contact = waiting(rules)
    stats = {"billing": QueueStats("billing", waiting=waiting_now)}
    due = due_keys(rules, contact, T0 + elapsed_ms, stats)
    assert due == (["queue:billing/s"] if waiting_now > 3 else [])


@PROPERTY
@given(eligible=st.integers(0, 3), elapsed_ms=st.integers(0, 120_000))
def test_rules_a_step_with_both_triggers_needs_both(eligible: int, elapsed_ms: int) -> None:
    rules = load(ONE_STEP.format(trigger='after_seconds: 60, when: "queue.eligible_agents == 0"'))
    contact = waiting(rules)
    due = due_keys(rules, contact, T0 + elapsed_ms, eligible=eligible)
    assert due == (["queue:billing/s"] if eligible == 0 and elapsed_ms >= 60_000 else [])


@pytest.mark.parametrize(
    ("attributes", "due", "warned"),
    [
        ({"vip": 3}, True, False),
        ({"vip": 1}, False, False),
        ({}, False, False),  # an absent attribute: false, quietly
        ({"vip": "yes"}, False, True),  # a type mismatch: false, with a warning
    ],
)
def test_rules_a_condition_that_cannot_be_computed_is_not_due(
    attributes: dict[str, Any], due: bool, warned: bool
) -> None:
    rules = load(ONE_STEP.format(trigger='when: "contact.attributes.vip > 2"'))
    contact = waiting(rules)
    warnings: list[tuple[str, str]] = []
    found = due_keys(rules, contact, T0 + 10 * SECOND, warnings=warnings, attributes=attributes)
    assert found == (["queue:billing/s"] if due else [])
    assert bool(warnings) == warned
    assert all(field == "queues.billing.relaxation.0.when" for field, _ in warnings)
    assert all("contact.attributes.vip" in message for _, message in warnings)


STEPS = """
queues:
  billing:
    channels: [voice, chat]
    relaxation:
      - {name: widen, after_seconds: 30, drop: [tech]}
      - {name: boost, after_seconds: 30, add_priority: 5}
      - {name: busy, when: "queue.waiting > 3", add_priority: 1}
      - {name: escalate, after_seconds: 120, move_to: general}
      - {name: after-move, after_seconds: 130, add_priority: 10}
    overflow: {after_seconds: 600, to: general}
  general:
    channels: [voice, chat]
classification:
  - name: vip
    when: customer.tier == "gold"
    queue: billing
    relaxation:
      - {name: widen, after_seconds: 10, require: {en: 3}}
  - name: default
    queue: general
"""


def test_rules_steps_of_a_rule_come_before_those_of_its_queue() -> None:
    rules = load(STEPS)
    assert [s.key for s in rules.steps_for("vip", "billing")] == [
        "rule:vip/widen",
        "queue:billing/widen",
        "queue:billing/boost",
        "queue:billing/busy",
        "queue:billing/escalate",
        "queue:billing/after-move",
        "queue:billing/overflow",
    ]
    # once out of the rule's queue, only that queue's own steps apply
    assert rules.steps_for("vip", "general") == ()


@pytest.mark.parametrize(
    ("elapsed_s", "relaxed", "busy", "expected"),
    [
        (5, set(), False, []),
        (10, set(), False, ["rule:vip/widen"]),
        (30, set(), False, ["rule:vip/widen", "queue:billing/widen", "queue:billing/boost"]),
        (30, {"rule:vip/widen", "queue:billing/widen"}, False, ["queue:billing/boost"]),
        (30, set(), True, ["rule:vip/widen", "queue:billing/widen", "queue:billing/boost",
                           "queue:billing/busy"]),
        # the move ends the list: after-move and the overflow wait for the next queue
        (700, set(), False, ["rule:vip/widen", "queue:billing/widen", "queue:billing/boost",
                             "queue:billing/escalate"]),
        (700, {"queue:billing/escalate"}, False, ["rule:vip/widen", "queue:billing/widen",
                                                  "queue:billing/boost",
                                                  "queue:billing/after-move",
                                                  "queue:billing/overflow"]),
        (
            700,
            {"rule:vip/widen", "queue:billing/widen", "queue:billing/boost",
             "queue:billing/busy", "queue:billing/escalate", "queue:billing/after-move",
             "queue:billing/overflow"},
            True,
            [],
        ),
    ],
)  # fmt: skip
def test_rules_due_steps_table(
    elapsed_s: int, relaxed: set[str], busy: bool, expected: list[str]
) -> None:
    rules = load(STEPS)
    contact = waiting(rules, rule="vip", relaxed=frozenset(relaxed))
    stats = {"billing": QueueStats("billing", waiting=5 if busy else 0)}
    assert due_keys(rules, contact, T0 + elapsed_s * SECOND, stats) == expected


MOVE_FOR_SOME_CHANNELS = """
queues:
  billing:
    channels: [voice, chat]
    relaxation:
      - {name: to-chat-desk, after_seconds: 60, move_to: chat_desk}
      - {name: boost, after_seconds: 120, add_priority: 10}
  chat_desk:
    channels: [chat]
"""


def test_rules_a_move_the_channel_cannot_take_does_not_hold_back_later_steps() -> None:
    """A voice contact cannot move to a chat-only queue: that step fires with no effect for
    it, and its later 'boost' step still fires (relaxer every 10 s for ten minutes)."""
    rules = load(MOVE_FOR_SOME_CHANNELS)
    contact = waiting(rules, channel=Channel.VOICE)
    for now in range(T0, T0 + 600 * SECOND + 1, 10 * SECOND):
        contact, _ = relax(rules, contact, now, variables(rules, contact, now))
    assert contact.queue == "billing"
    assert contact.relaxed == {"queue:billing/to-chat-desk", "queue:billing/boost"}
    assert contact.priority == 10


def test_rules_a_move_the_channel_can_take_moves_and_ends_the_old_steps() -> None:
    rules = load(MOVE_FOR_SOME_CHANNELS)
    contact = waiting(rules, channel=Channel.CHAT)
    for now in range(T0, T0 + 600 * SECOND + 1, 10 * SECOND):
        contact, _ = relax(rules, contact, now, variables(rules, contact, now))
    assert contact.queue == "chat_desk"
    assert contact.queue_since_ms == T0 + 60 * SECOND
    assert contact.relaxed == {"queue:billing/to-chat-desk"}
    assert contact.priority == 0


# --- properties over generated documents ----------------------------------------------------


@st.composite
def waiting_sets(
    draw: st.DrawFn,
) -> tuple[CompiledRules, list[WaitingContact], int, dict[str, QueueStats]]:
    """A document, contacts waiting in its queues, an instant and live queue figures."""
    rules = rules_from_document(draw(routing_documents(full=False)))
    queues = sorted(rules.config.queues)
    aging = rules.config.aging_seconds_per_priority
    now = T0 + draw(st.integers(0, 4000)) * SECOND
    contacts = []
    for n in range(draw(st.integers(1, 10))):
        queue = pick(draw, queues)
        channel = Channel(pick(draw, sorted(rules.config.queues[queue].channels)))
        # mostly a rule of this queue, so that its steps apply
        own = [r.name for r in rules.config.classification if r.queue == queue]
        rule = pick(draw, own or [""]) if draw(st.booleans()) else ""
        keys = [s.key for s in rules.steps_for(rule, queue)]
        first = now - draw(st.integers(0, 4000)) * SECOND
        priority = draw(st.integers(-100, 100))
        contacts.append(
            WaitingContact(
                id=f"c{draw(st.integers(0, 3))}{n}",  # ids out of numeric order
                queue=queue,
                channel=channel,
                skills=draw(skill_levels()),
                priority=priority,
                first_enqueued_ms=first,
                score=order_score(priority, first, aging),
                queue_since_ms=draw(st.integers(first, now)),
                rule=rule,
                relaxed=frozenset(k for k in keys if draw(st.booleans())),
            )
        )
    stats = {
        name: QueueStats(
            name, waiting=draw(st.integers(0, 8)), agents_available=draw(st.integers(0, 3))
        )
        for name in queues
    }
    return rules, contacts, now, stats


Scenario = tuple[CompiledRules, list[WaitingContact], int, dict[str, QueueStats]]


@PROPERTY
@given(scenario=waiting_sets(), eligible=st.integers(0, 2))
def test_rules_due_steps_are_pending_in_order_and_stop_at_a_move(
    scenario: Scenario, eligible: int
) -> None:
    rules, contacts, now, stats = scenario
    for contact in contacts:
        steps = rules.steps_for(contact.rule, contact.queue)
        order = [s.key for s in steps]
        due = due_keys(rules, contact, now, stats, eligible)
        assert not set(due) & contact.relaxed, "a step fires once"
        assert due == [k for k in order if k in due], "due steps come in list order"
        assert len(set(due)) == len(due)
        by_key = {s.key: s for s in steps}
        moves = [k for k in due if by_key[k].step.move_to is not None]
        assert moves in ([], due[-1:]), "a move ends the list"
        in_queue_ms = now - contact.queue_since_ms
        for key in due:
            after = by_key[key].step.after_seconds
            assert after is None or in_queue_ms >= after * 1000
        # every pending time-only step whose time has come is due, up to the first move
        for step in steps:
            if moves and order.index(step.key) > order.index(moves[0]):
                break
            after = step.step.after_seconds
            if (
                step.key not in contact.relaxed
                and step.condition is None
                and after is not None
                and in_queue_ms >= after * 1000
            ):
                assert step.key in due


@PROPERTY
@given(scenario=waiting_sets())
def test_rules_relaxation_never_drops_a_contact_nor_breaks_the_order(
    scenario: Scenario,
) -> None:
    rules, contacts, now, stats = scenario
    before = {c.id: c for c in contacts}
    after: dict[str, WaitingContact] = {}
    for contact in contacts:
        relaxed, applied = relax(rules, contact, now, variables(rules, contact, now, stats))
        after[contact.id] = relaxed
        # requirements: old minus drop plus require, step by step
        skills = dict(contact.skills)
        for old, effect in applied:
            assert old == skills
            skills = {k: v for k, v in skills.items() if k not in effect.drop}
            skills.update(effect.require)
            assert not set(effect.require) & set(effect.drop)
            assert set(skills) <= set(SKILLS)
        assert dict(relaxed.skills) == skills
        total = contact.priority
        for _, effect in applied:
            total = max(-100, min(100, total + effect.add_priority))
        assert relaxed.priority == total
        moves = [effect.move_to for _, effect in applied if effect.move_to]
        assert len(moves) <= 1
        assert relaxed.queue == (moves[0] if moves else contact.queue)
        assert relaxed.channel in rules.config.queues[relaxed.queue].channels
        assert relaxed.first_enqueued_ms == contact.first_enqueued_ms
        assert relaxed.score == order_score(
            relaxed.priority, relaxed.first_enqueued_ms, rules.config.aging_seconds_per_priority
        )
    # no contact lost or duplicated: each id in exactly one queue
    queues: dict[str, list[WaitingContact]] = {}
    for contact in after.values():
        queues.setdefault(contact.queue, []).append(contact)
    placed = [c.id for members in queues.values() for c in members]
    assert sorted(placed) == sorted(before)
    for members in queues.values():
        members.sort(key=order_key)
        ids = [c.id for c in members]
        for i, x in enumerate(ids):
            for y in ids[i + 1 :]:  # x now goes before y
                dx = after[x].priority - before[x].priority
                dy = after[y].priority - before[y].priority
                if dx == 0 and dy == 0:
                    assert order_key(before[x]) < order_key(before[y]), "order kept"
                if dy > 0 and dx == 0:
                    continue  # y was raised: it can only have moved ahead, not x behind
                if dx < 0 and dy == 0:
                    assert order_key(before[x]) < order_key(before[y]), "lowered, not ahead"
                if dx == 0 and dy < 0:
                    continue
                if dy > 0 and dx <= 0:
                    assert order_key(before[x]) < order_key(before[y]), "raised, not behind"
