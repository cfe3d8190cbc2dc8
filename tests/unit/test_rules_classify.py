"""Classification: every contact gets exactly one queue that takes it and is open, or a
Rejection with a documented reason; nothing else ever escapes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ccaas.domain.intake import NewContact, check_new_contact
from ccaas.domain.models import Channel
from ccaas.domain.rules.classify import (
    EXPLICIT_RULE,
    REASONS,
    Classified,
    Rejection,
    classify,
    retarget,
)
from ccaas.domain.rules.compiled import CompiledRules, rules_from_document
from ccaas.domain.rules.facts import QueueStats
from ccaas.domain.values import MAX_PRIORITY, MIN_PRIORITY
from tests.unit.rules_strategies import instants, local_ms, new_contacts, routing_documents

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def queue_stats(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, QueueStats] | None:
    """Live figures of some queues, or none at all (conditions then see zeros)."""
    if draw(st.booleans()):
        return None
    return {
        name: QueueStats(
            name,
            waiting=draw(st.integers(0, 50)),
            oldest_wait_seconds=draw(st.floats(0, 3600)),
            agents_logged_in=draw(st.integers(0, 20)),
            agents_available=draw(st.integers(0, 20)),
            ewt_seconds=draw(st.floats(0, 3600)),
            open=draw(st.booleans()),
        )
        for name in names
        if draw(st.booleans())
    }


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[CompiledRules, list[NewContact], int, dict[str, QueueStats] | None]:
    rules = rules_from_document(draw(routing_documents()))
    contacts = draw(st.lists(new_contacts(rules.config), min_size=1, max_size=4))
    return rules, contacts, draw(instants), draw(queue_stats(tuple(rules.config.queues)))


def closed_chain_end(rules: CompiledRules, queue: str, contact: NewContact, now_ms: int) -> str:
    """Where 'closed' overflow from `queue` leads (the last queue tried)."""
    seen = [queue]
    while not rules.is_open(queue, now_ms):
        target = rules.config.queues[queue].overflow.closed
        if target is None or contact.channel not in rules.config.queues[target].channels:
            break
        assert target not in seen, "valid documents have no overflow loop"
        seen.append(target)
        queue = target
    return queue


def check_classified(
    result: Classified, contact: NewContact, rules: CompiledRules, now_ms: int
) -> None:
    config = rules.config
    assert result.queue in config.queues
    assert contact.channel in config.queues[result.queue].channels
    assert rules.is_open(result.queue, now_ms)
    assert MIN_PRIORITY <= result.priority <= MAX_PRIORITY
    total = sum(delta for _, delta in result.priority_terms)
    assert result.priority == max(MIN_PRIORITY, min(MAX_PRIORITY, total))
    if contact.queue:
        assert result.rule == EXPLICIT_RULE
        start = contact.queue
        assert result.skills == contact.skills
        assert result.tags == ()
    else:
        compiled = rules.rule(result.rule)
        assert compiled is not None
        rule = compiled.rule
        start = rule.queue
        assert contact.channel in config.queues[start].channels
        assert result.tags == tuple(rule.tags)
        for skill, level in {**rule.skills, **contact.skills}.items():
            assert result.skills[skill] == max(level, rule.skills.get(skill, 0), 0)
            assert result.skills[skill] >= contact.skills.get(skill, 0)
        assert set(result.skills) == set(rule.skills) | set(contact.skills)
    # each hop is a closed queue handing over to its 'closed' overflow, ending open
    hops = [queue for queue, _ in result.overflowed]
    assert [reason for _, reason in result.overflowed] == ["closed"] * len(hops)
    assert hops[:1] == ([start] if hops else [])
    for here, there in zip(hops, [*hops[1:], result.queue][: len(hops)], strict=True):
        assert not rules.is_open(here, now_ms)
        assert config.queues[here].overflow.closed == there
    assert result.queue == closed_chain_end(rules, start, contact, now_ms)


def check_rejection(
    rejection: Rejection, contact: NewContact, rules: CompiledRules, now_ms: int
) -> None:
    config = rules.config
    assert rejection.reason in REASONS
    if rejection.reason == "no_rule":
        assert not contact.queue
        takers = [
            r for r in config.classification if contact.channel in config.queues[r.queue].channels
        ]
        assert all(r.when is not None for r in takers), "a default rule takes every contact"
        return
    assert rejection.reason == "closed"
    assert rejection.queue in config.queues
    assert not rules.is_open(rejection.queue, now_ms)
    target = config.queues[rejection.queue].overflow.closed
    assert target is None or contact.channel not in config.queues[target].channels
    if contact.queue:
        assert closed_chain_end(rules, contact.queue, contact, now_ms) == rejection.queue


@PROPERTY
@given(scenario=scenarios())
def test_rules_every_contact_gets_one_open_queue_or_a_documented_rejection(
    scenario: tuple[CompiledRules, list[NewContact], int, dict[str, QueueStats] | None],
) -> None:
    rules, contacts, now_ms, stats = scenario
    for contact in contacts:
        check_new_contact(contact, rules.config)  # the contact is one intake accepts
        try:
            result = classify(contact, rules, now_ms, stats)
        except Rejection as rejection:
            check_rejection(rejection, contact, rules, now_ms)
        else:
            check_classified(result, contact, rules, now_ms)
            assert classify(contact, rules, now_ms, stats) == result  # and deterministically
            check_full_overflow(contact, result, rules, now_ms, stats)


def check_full_overflow(
    contact: NewContact,
    where: Classified,
    rules: CompiledRules,
    now_ms: int,
    stats: dict[str, QueueStats] | None,
) -> None:
    """The queue turned out full: the contact goes on to an open queue that takes it, or is
    rejected with a documented reason."""
    try:
        moved = retarget(contact, where, "full", rules, now_ms, stats)
    except Rejection as rejection:
        assert rejection.reason in ("full", "closed")
        assert rejection.queue in rules.config.queues
        if rejection.reason == "full":
            assert rejection.queue == where.queue
            target = rules.config.queues[where.queue].overflow.full
            assert target is None or contact.channel not in rules.config.queues[target].channels
        return
    config = rules.config
    assert moved.queue != where.queue
    assert contact.channel in config.queues[moved.queue].channels
    assert rules.is_open(moved.queue, now_ms)
    assert MIN_PRIORITY <= moved.priority <= MAX_PRIORITY
    assert moved.overflowed[: len(where.overflowed)] == where.overflowed
    assert moved.overflowed[len(where.overflowed)] == (where.queue, "full")
    assert (moved.rule, moved.skills, moved.tags) == (where.rule, where.skills, where.tags)


# --- the documented behaviour, case by case -------------------------------------------------

TABLE = """
timezone: Europe/London
hours:
  office: {open: {mon-fri: ["09:00-17:00"]}}
queues:
  billing: {channels: [voice, chat], hours: office, overflow: {closed: night, full: general}}
  night: {channels: [voice]}
  general: {channels: [voice, chat, email]}
  spanish: {channels: [voice, chat], hours: office, overflow: {closed: billing}}
  sales: {channels: [voice, chat], overflow: {full: spanish}}
  email_desk: {channels: [email]}
classification:
  - name: spanish
    when: has(contact.attributes.lang) && contact.attributes.lang == "es"
    queue: spanish
    skills: {es: 5}
    priority: 5
    tags: [es]
  - name: vip
    when: customer.tier == "gold"
    queue: billing
    skills: {en: 3}
    priority: 90
    preferred_agent: {agent: customer.last_agent, hold_seconds: 30}
  - {name: email, when: contact.channel == "email", queue: email_desk}
  - name: sales
    when: has(contact.attributes.intent) && contact.attributes.intent == "buy"
    queue: sales
  - {name: scored, when: contact.attributes.score > 10, queue: general, tags: [scored]}
  - {name: default, queue: billing}
priority_rules:
  - {name: night-shift, when: contact.queue == "night", add: 7}
  - {name: boosted, when: contact.priority >= 95, add: 1}
"""
OPEN = local_ms("Europe/London", 2024, 7, 1, 10, 0)  # a Monday morning
CLOSED = local_ms("Europe/London", 2024, 7, 1, 20, 0)  # the same evening
VOICE, CHAT, EMAIL, SOCIAL = Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SOCIAL


def table_rules() -> CompiledRules:
    return rules_from_document(YAML(typ="safe", pure=True).load(TABLE))


def new(channel: Channel, **fields: Any) -> NewContact:
    return NewContact(channel=channel, external_id="x1", **fields)


ES = {"attributes": {"lang": "es"}}
GOLD = {"customer": {"tier": "gold", "last_agent": "a7"}}


@pytest.mark.parametrize(
    ("contact", "now", "queue", "rule", "hops", "terms"),
    [
        (new(VOICE, **ES), OPEN, "spanish", "spanish", [], [("rule spanish", 5)]),
        # closed: spanish -> billing (closed too) -> night; priority rules see the end queue
        (new(VOICE, **ES), CLOSED, "night", "spanish", ["spanish", "billing"],
         [("rule spanish", 5), ("priority rule night-shift", 7)]),
        (new(VOICE, **GOLD), OPEN, "billing", "vip", [], [("rule vip", 90)]),
        # the rule's and the requested priority are what priority rules see as contact.priority
        (new(VOICE, priority=10, **GOLD), OPEN, "billing", "vip", [],
         [("rule vip", 90), ("requested", 10), ("priority rule boosted", 1)]),
        # a rule whose queue does not take the channel is passed over
        (new(EMAIL, **ES), OPEN, "email_desk", "email", [], []),
        (new(EMAIL, **GOLD), CLOSED, "email_desk", "email", [], []),
        (new(CHAT, attributes={"score": 11}), OPEN, "general", "scored", [], []),
        (new(CHAT, attributes={"score": "high"}), OPEN, "billing", "default", [], []),
        (new(CHAT), OPEN, "billing", "default", [], []),
        (new(VOICE), CLOSED, "night", "default", ["billing"], [("priority rule night-shift", 7)]),
        # an explicit queue: no rule, the contact's own requirements and priority
        (new(CHAT, queue="general", skills={"en": 2}, priority=-3, **GOLD), CLOSED, "general",
         EXPLICIT_RULE, [], [("requested", -3)]),
        (new(VOICE, queue="spanish"), CLOSED, "night", EXPLICIT_RULE, ["spanish", "billing"],
         [("priority rule night-shift", 7)]),
    ],
)  # fmt: skip
def test_rules_classification_table(
    contact: NewContact,
    now: int,
    queue: str,
    rule: str,
    hops: list[str],
    terms: list[tuple[str, int]],
) -> None:
    rules = table_rules()
    result = classify(contact, rules, now)
    assert (result.queue, result.rule) == (queue, rule)
    assert [q for q, _ in result.overflowed] == hops
    assert list(result.priority_terms) == terms
    check_classified(result, contact, rules, now)


def test_rules_a_gold_customer_gets_the_rule_details() -> None:
    result = classify(new(VOICE, skills={"en": 1, "fr": 4}, **GOLD), table_rules(), OPEN)
    assert result.skills == {"en": 3, "fr": 4}  # the stronger of rule and contact
    assert (result.preferred_agent, result.hold_ms) == ("a7", 30_000)
    assert result.tags == ()
    assert result.priority == 90


def test_rules_priority_is_clamped_to_100() -> None:
    contact = new(VOICE, priority=100, **GOLD)
    result = classify(contact, table_rules(), OPEN)
    assert sum(d for _, d in result.priority_terms) == 191
    assert result.priority == 100


def test_rules_a_missing_attribute_is_quietly_false_and_a_type_mismatch_warns() -> None:
    rules = table_rules()
    assert classify(new(CHAT), rules, OPEN).warnings == ()
    mismatch = classify(new(CHAT, attributes={"score": "high"}), rules, OPEN)
    [(field, message)] = mismatch.warnings
    assert field == "classification.4.when"  # where the failed condition is written
    assert "contact.attributes.score" in message


@pytest.mark.parametrize(
    ("contact", "now", "reason", "queue"),
    [
        (new(SOCIAL), OPEN, "no_rule", None),  # no rule's queue takes social
        (new(CHAT, **ES), CLOSED, "closed", "billing"),  # night takes no chat
        (new(CHAT, queue="spanish"), CLOSED, "closed", "billing"),
        (new(CHAT), CLOSED, "closed", "billing"),
    ],
)
def test_rules_rejection_table(
    contact: NewContact, now: int, reason: str, queue: str | None
) -> None:
    rules = table_rules()
    with pytest.raises(Rejection) as rejected:
        classify(contact, rules, now)
    assert (rejected.value.reason, rejected.value.queue) == (reason, queue)
    check_rejection(rejected.value, contact, rules, now)


@pytest.mark.parametrize(
    ("contact", "now", "queue", "hops", "terms"),
    [
        (new(VOICE), OPEN, "general", [("billing", "full")], []),
        # a full target that is closed sends the contact on through its 'closed' overflow,
        # and the priority rules run again for the queue it ends up in
        (new(VOICE, attributes={"intent": "buy"}), CLOSED, "night",
         [("sales", "full"), ("spanish", "closed"), ("billing", "closed")],
         [("priority rule night-shift", 7)]),
        (new(VOICE, priority=10, **GOLD), OPEN, "general", [("billing", "full")],
         [("rule vip", 90), ("requested", 10), ("priority rule boosted", 1)]),
    ],
)  # fmt: skip
def test_rules_a_full_queue_overflows(
    contact: NewContact, now: int, queue: str, hops: list[tuple[str, str]], terms: list[Any]
) -> None:
    rules = table_rules()
    first = classify(contact, rules, now)
    moved = retarget(contact, first, "full", rules, now)
    assert moved.queue == queue
    assert list(moved.overflowed) == [*first.overflowed, *hops]
    assert list(moved.priority_terms) == terms
    assert (moved.rule, moved.skills, moved.tags) == (first.rule, first.skills, first.tags)
    assert rules.is_open(moved.queue, now)


@pytest.mark.parametrize(
    ("contact", "now", "reason", "queue"),
    [
        (new(EMAIL), OPEN, "full", "email_desk"),  # no 'full' overflow
        (new(VOICE), CLOSED, "full", "night"),
        (new(CHAT, attributes={"intent": "buy"}), CLOSED, "closed", "billing"),
    ],
)
def test_rules_a_full_queue_without_a_way_on_rejects(
    contact: NewContact, now: int, reason: str, queue: str
) -> None:
    rules = table_rules()
    first = classify(contact, rules, now)
    with pytest.raises(Rejection) as rejected:
        retarget(contact, first, "full", rules, now)
    assert (rejected.value.reason, rejected.value.queue) == (reason, queue)
    assert rejected.value.reason in REASONS
