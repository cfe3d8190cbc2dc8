"""One table, two implementations: the pure policy and the Lua scripts give the same answers.

The router plans with `ineligibility()` and `apply_effect` + `order_score`; claim.lua and
relax.lua re-check and commit in Redis. Each case below runs through both, on a real Redis
whose state is written from the same values the policy sees, and the answers must be equal:
the verdict and the first reason for a claim (the reject cooldown included); skills,
priority, queue and score for a step.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest
from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.domain.eligibility import Ineligible, ineligibility
from ccaas.domain.models import AgentView, Channel, Membership, Presence, WaitingContact
from ccaas.domain.ordering import order_score
from ccaas.domain.policy import PlannedOffer
from ccaas.domain.rules.relaxation import Effect, apply_effect
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository
from ccaas.store.relaxations import RelaxationRepository
from tests.helpers import TEST_CONFIG

NOW = 1_700_000_000_000
SECOND = 1000
VOICE, CHAT, EMAIL = Channel.VOICE, Channel.CHAT, Channel.EMAIL
NOT_AVAILABLE, NOT_IN_QUEUE = Ineligible.NOT_AVAILABLE, Ineligible.NOT_IN_QUEUE
HELD, DELAYED = Ineligible.HELD, Ineligible.DELAYED
MISSING_SKILL, NO_CAPACITY = Ineligible.MISSING_SKILL, Ineligible.NO_CAPACITY
REJECTED = Ineligible.REJECTED


def config_with(**changes: Any) -> RoutingConfig:
    return RoutingConfig.model_validate({**TEST_CONFIG.model_dump(mode="json"), **changes})


# channel defaults other than the built-in ones: chat 1, email 4 and exclusive
OWN_CHANNELS = config_with(
    channels={"chat": {"capacity": 1}, "email": {"capacity": 4, "exclusive": True}}
)
ALL_QUEUES = frozenset(TEST_CONFIG.queues)


def an_agent(**changes: Any) -> AgentView:
    """Available, serving every queue without delay, no skills, no work, channel defaults."""
    base = AgentView(
        id="a1",
        skills={},
        queues=ALL_QUEUES,
        capacity={},
        presence=Presence.AVAILABLE,
        idle_since_ms=NOW - 60 * SECOND,
        revision=1,
    )
    return dataclasses.replace(base, **changes)


def a_contact(**changes: Any) -> WaitingContact:
    """A chat in billing that has waited 60 s, with no requirements and no hold."""
    base = WaitingContact(
        id="c1",
        queue="billing",
        channel=CHAT,
        skills={},
        priority=0,
        first_enqueued_ms=NOW - 60 * SECOND,
        score=NOW - 60 * SECOND,
        queue_since_ms=NOW - 60 * SECOND,
    )
    return dataclasses.replace(base, **changes)


def delayed(queue: str, seconds: float) -> Mapping[str, Membership]:
    """Memberships of every queue, `queue` only after the contact waited `seconds` in it."""
    return {q: Membership(delay_ms=int(seconds * SECOND) if q == queue else 0) for q in ALL_QUEUES}


def case(
    agent: dict[str, Any],
    contact: dict[str, Any],
    expected: Ineligible | None,
    *,
    id: str,
    config: RoutingConfig = TEST_CONFIG,
) -> Any:
    """A row: changes to the base agent and contact, the reason expected, the rules."""
    return pytest.param(an_agent(**agent), a_contact(**contact), config, expected, id=id)


def own(
    agent: dict[str, Any], contact: dict[str, Any], expected: Ineligible | None, *, id: str
) -> Any:
    """A row under OWN_CHANNELS, the rules with channel defaults of their own."""
    return case(agent, contact, expected, id=id, config=OWN_CHANNELS)


ELIGIBILITY = [
    # skills and levels
    case({}, {}, None, id="no skills needed"),
    case({}, {"skills": {"fr": 1}}, MISSING_SKILL, id="skill missing"),
    case({"skills": {"fr": 4}}, {"skills": {"fr": 5}}, MISSING_SKILL, id="level too low"),
    case({"skills": {"fr": 5}}, {"skills": {"fr": 5}}, None, id="level exactly enough"),
    case(
        {"skills": {"fr": 10, "en": 2}},
        {"skills": {"fr": 5, "en": 3}},
        MISSING_SKILL,
        id="one of two skills too low",
    ),
    case(
        {"skills": {"fr": 10, "en": 3, "tech": 1}},
        {"skills": {"fr": 5, "en": 3}},
        None,
        id="all skills met, extras ignored",
    ),
    # capacity per channel: the agent's own, else the channel default
    case({"work": {"chat": 2}}, {}, None, id="chat default 3: third chat"),
    case({"work": {"chat": 3}}, {}, NO_CAPACITY, id="chat default 3: fourth chat"),
    case({"work": {"chat": 4}}, {}, NO_CAPACITY, id="over the default (lowered)"),
    case(
        {"work": {"email": 1}}, {"queue": "support", "channel": EMAIL}, None, id="email default 2"
    ),
    case(
        {"work": {"email": 2}},
        {"queue": "support", "channel": EMAIL},
        NO_CAPACITY,
        id="email default 2 reached",
    ),
    case({"capacity": {"chat": 5}, "work": {"chat": 4}}, {}, None, id="own chat 5: fifth chat"),
    case({"capacity": {"chat": 5}, "work": {"chat": 5}}, {}, NO_CAPACITY, id="own chat 5 reached"),
    case({"capacity": {"chat": 1}, "work": {"chat": 1}}, {}, NO_CAPACITY, id="own chat 1 reached"),
    case({"capacity": {"chat": 0}}, {}, NO_CAPACITY, id="own chat 0: never chat"),
    case(
        {"capacity": {"email": 1}, "work": {"chat": 2}},
        {},
        None,
        id="own email only: chat keeps its default",
    ),
    case(
        {"capacity": {"chat": 9, "email": 9, "social": 9, "voice": 1}, "work": {"chat": 8}},
        {},
        None,
        id="own capacity on every channel",
    ),
    own({"work": {"chat": 0}}, {}, None, id="rules' chat default 1: first"),
    own({"work": {"chat": 1}}, {}, NO_CAPACITY, id="rules' chat default 1 reached"),
    own(
        {"capacity": {"chat": 2}, "work": {"chat": 1}}, {}, None, id="own chat 2 over the rules' 1"
    ),
    own({"work": {"email": 1}}, {}, NO_CAPACITY, id="rules' exclusive email held blocks chat"),
    own(
        {"work": {"email": 3}},
        {"queue": "support", "channel": EMAIL},
        NO_CAPACITY,
        id="rules' exclusive email: a second email",
    ),
    own({}, {"queue": "support", "channel": EMAIL}, None, id="exclusive idle"),
    # exclusive voice, held or requested
    case({}, {"channel": VOICE}, None, id="call to an idle agent"),
    case({"work": {"chat": 1}}, {"channel": VOICE}, NO_CAPACITY, id="call needs no chat"),
    case({"work": {"voice": 1}}, {"channel": VOICE}, NO_CAPACITY, id="a second call"),
    case({"work": {"voice": 1}}, {}, NO_CAPACITY, id="a held call blocks chat"),
    case(
        {"capacity": {"voice": 2}, "work": {"voice": 1}},
        {"channel": VOICE},
        NO_CAPACITY,
        id="exclusive even with own voice 2",
    ),
    case({"capacity": {"voice": 0}}, {"channel": VOICE}, NO_CAPACITY, id="own voice 0: no calls"),
    # max_total across channels
    case(
        {"max_total": 2, "work": {"chat": 1, "email": 1}}, {}, NO_CAPACITY, id="max_total reached"
    ),
    case({"max_total": 3, "work": {"chat": 1, "email": 1}}, {}, None, id="max_total not reached"),
    case({"max_total": 5, "work": {"chat": 3}}, {}, NO_CAPACITY, id="max_total free, chat full"),
    # presence
    case({"presence": Presence.AWAY}, {}, NOT_AVAILABLE, id="away"),
    case({"presence": Presence.OFFLINE}, {}, NOT_AVAILABLE, id="offline"),
    case({"presence": Presence.WRAP_UP}, {}, NOT_AVAILABLE, id="in wrap-up"),
    # the agent's queues
    case({"queues": frozenset({"sales"})}, {}, NOT_IN_QUEUE, id="serves another queue"),
    case({"queues": frozenset()}, {}, NOT_IN_QUEUE, id="serves no queue"),
    # the queue's delay for this agent
    case({"memberships": delayed("billing", 90)}, {}, DELAYED, id="delay 90 s, waited 60 s"),
    case({"memberships": delayed("billing", 60)}, {}, None, id="delay 60 s, waited 60 s"),
    case({"memberships": delayed("billing", 30)}, {}, None, id="delay 30 s, waited 60 s"),
    case({"memberships": delayed("sales", 90)}, {}, None, id="delay in another queue only"),
    # preferred-agent holds
    case(
        {},
        {"preferred_agent": "a2", "preferred_until_ms": NOW + SECOND},
        HELD,
        id="held for another agent",
    ),
    case(
        {},
        {"preferred_agent": "a1", "preferred_until_ms": NOW + SECOND},
        None,
        id="held for this agent",
    ),
    case(
        {},
        {"preferred_agent": "a2", "preferred_until_ms": NOW},
        None,
        id="hold ends now",
    ),
    case(
        {},
        {"preferred_agent": "a2", "preferred_until_ms": NOW - SECOND},
        None,
        id="hold expired",
    ),
    # several reasons at once: both report the first in the documented order
    case(
        {"presence": Presence.AWAY, "queues": frozenset(), "work": {"chat": 3}},
        {"skills": {"fr": 1}},
        NOT_AVAILABLE,
        id="away before everything",
    ),
    case(
        {"queues": frozenset({"sales"}), "work": {"chat": 3}},
        {"skills": {"fr": 1}, "preferred_agent": "a2", "preferred_until_ms": NOW + SECOND},
        NOT_IN_QUEUE,
        id="queue before hold",
    ),
    case(
        {"memberships": delayed("billing", 90)},
        {"preferred_agent": "a2", "preferred_until_ms": NOW + SECOND},
        HELD,
        id="hold before delay",
    ),
    case(
        {"memberships": delayed("billing", 90), "work": {"chat": 3}},
        {"skills": {"fr": 1}},
        DELAYED,
        id="delay before skill",
    ),
    case({"work": {"chat": 3}}, {"skills": {"fr": 1}}, MISSING_SKILL, id="skill before capacity"),
]

WORK_STATES = ("offered", "connected", "wrap_up")


async def store_agent(ctx: StoreContext, agent: AgentView, counted: bool = True) -> None:
    """The agent's hash and work hash as the scripts keep them, holding `agent.work`; with
    the counts of its work in the agent hash unless not `counted` (as an agent stored before
    they were kept)."""
    keys = ctx.keys
    counts = {"held": sum(agent.work.values())} | {
        f"held:{channel}": n for channel, n in agent.work.items()
    }
    await ctx.redis.hset(
        keys.agent(agent.id),
        mapping={
            "id": agent.id,
            "presence": agent.presence.value,
            "rev": agent.revision,
            "skills": json.dumps(dict(agent.skills)),
            "idle_since": agent.idle_since_ms,
        }
        | (counts if counted else {}),
    )
    held = {
        f"held-{channel}-{n}": f"{WORK_STATES[n % len(WORK_STATES)]}:{channel}"
        for channel, count in agent.work.items()
        for n in range(count)
    }
    if held:
        await ctx.redis.hset(keys.agent_work(agent.id), mapping=held)


async def store_contact(ctx: StoreContext, contact: WaitingContact) -> None:
    """The contact's hash and its place in its queue, as enqueue.lua leaves them."""
    keys = ctx.keys
    await ctx.redis.hset(
        keys.contact(contact.id),
        mapping={
            "id": contact.id,
            "state": "queued",
            "queue": contact.queue,
            "channel": contact.channel.value,
            "skills": json.dumps(dict(contact.skills)),
            "priority": contact.priority,
            "score": repr(contact.score),
            "first_enqueued_at": contact.first_enqueued_ms,
            "queue_since": contact.queue_since_ms,
            "offer_count": 0,
            "relaxed": "[]",
            "preferred_agent": contact.preferred_agent,
            "preferred_until": contact.preferred_until_ms,
            "rejected_by": json.dumps(dict(contact.rejected_by)),
        },
    )
    await ctx.redis.zadd(keys.queue_waiting(contact.queue), {contact.id: contact.score})
    await ctx.redis.zadd(
        keys.queue_arrivals(contact.queue), {contact.id: contact.first_enqueued_ms}
    )


@pytest.mark.parametrize("counted", [True, False], ids=["work counted", "work not counted yet"])
@pytest.mark.parametrize(("agent", "contact", "config", "expected"), ELIGIBILITY)
async def test_claim_agrees_with_ineligibility(
    redis: Redis,
    agent: AgentView,
    contact: WaitingContact,
    config: RoutingConfig,
    expected: Ineligible | None,
    counted: bool,
) -> None:
    ctx = StoreContext.create(redis, "t1", config, ManualClock(NOW))
    await store_agent(ctx, agent, counted)
    await store_contact(ctx, contact)
    planned = PlannedOffer(contact.id, agent.id, contact.queue, contact.channel)
    (claim,) = await OfferRepository(ctx).claim_many([planned], {agent.id: agent})
    python = ineligibility(agent, contact, ctx.rules.channel_rules, NOW)
    lua = None if claim.refused is None else Ineligible(claim.refused)
    assert (python, lua) == (expected, expected)
    assert (claim.offer_id is None) is (expected is not None)
    if claim.offer_id is not None:  # the agent hash now counts the work, the new offer too
        kept = await redis.hgetall(ctx.keys.agent(agent.id))
        work = {**agent.work, contact.channel.value: agent.work.get(contact.channel.value, 0) + 1}
        assert int(kept["held"]) == sum(work.values())
        assert {ch: int(kept[f"held:{ch}"]) for ch in work} == work


def rejected(
    agent: dict[str, Any],
    contact: dict[str, Any],
    expected: Ineligible | None,
    *,
    id: str,
    despite: bool = False,
    config: RoutingConfig = TEST_CONFIG,
) -> Any:
    """A row of the reject cooldown (billing's default: 60 s); `despite`: the router plans
    the offer although the agent rejected it lately (nobody else could take it)."""
    return pytest.param(an_agent(**agent), a_contact(**contact), config, despite, expected, id=id)


def by(seconds_ago: float, agent: str = "a1") -> dict[str, Any]:
    return {"rejected_by": {agent: NOW - int(seconds_ago * SECOND)}}


BILLING_WITHOUT_COOLDOWN = {"channels": ["voice", "chat"], "reject_cooldown_seconds": 0}
NO_COOLDOWN = config_with(
    queues={**TEST_CONFIG.model_dump(mode="json")["queues"], "billing": BILLING_WITHOUT_COOLDOWN}
)

REJECTS = [
    rejected({}, by(10), REJECTED, id="rejected 10 s ago"),
    rejected({}, by(59.999), REJECTED, id="rejected just under the cooldown ago"),
    rejected({}, by(60), None, id="cooldown over"),
    rejected({}, by(10, "a2"), None, id="rejected by another agent"),
    rejected({}, by(10), None, id="planned despite the reject", despite=True),
    rejected({}, by(10), None, id="queue without cooldown", config=NO_COOLDOWN),
    rejected({"work": {"chat": 3}}, by(10), NO_CAPACITY, id="capacity before reject"),
    rejected(
        {},
        {**by(10), "preferred_agent": "a2", "preferred_until_ms": NOW + SECOND},
        HELD,
        id="hold before reject",
    ),
]


@pytest.mark.parametrize(("agent", "contact", "config", "despite", "expected"), REJECTS)
async def test_claim_agrees_with_ineligibility_on_rejects(
    redis: Redis,
    agent: AgentView,
    contact: WaitingContact,
    config: RoutingConfig,
    despite: bool,
    expected: Ineligible | None,
) -> None:
    ctx = StoreContext.create(redis, "t1", config, ManualClock(NOW))
    await store_agent(ctx, agent)
    await store_contact(ctx, contact)
    planned = PlannedOffer(contact.id, agent.id, contact.queue, contact.channel, despite)
    (claim,) = await OfferRepository(ctx).claim_many([planned], {agent.id: agent})
    cooldown = 0 if despite else int(config.queues["billing"].reject_cooldown_seconds * SECOND)
    python = ineligibility(agent, contact, ctx.rules.channel_rules, NOW, cooldown)
    lua = None if claim.refused is None else Ineligible(claim.refused)
    assert (python, lua) == (expected, expected)


# --- relaxation ---------------------------------------------------------------------------

FIRST = NOW - 60 * SECOND
NO_CHANGE = Effect({}, (), 0, None)


def step(
    effect: dict[str, Any],
    *,
    id: str,
    skills: Mapping[str, int] | None = None,
    priority: int = 0,
    aging: float = 10.0,
) -> Any:
    """A row: a billing chat with `skills` and `priority`, the effect, the aging in force."""
    return pytest.param(
        a_contact(
            skills={"en": 3, "fr": 2} if skills is None else skills,
            priority=priority,
            first_enqueued_ms=FIRST,
            score=order_score(priority, FIRST, aging),
        ),
        dataclasses.replace(NO_CHANGE, **effect),
        aging,
        id=id,
    )


RELAXATION = [
    step({}, id="no change"),
    step({"require": {"tech": 2}}, id="require a new skill"),
    step({"require": {"en": 5}}, id="raise a level"),
    step({"require": {"en": 1}}, id="lower a level"),
    step({"require": {"en": 1, "tech": 4}}, id="lower one, add another"),
    step({"drop": ("fr",)}, id="drop a skill"),
    step({"drop": ("tech",)}, id="drop a skill not required"),
    step({"drop": ("en", "fr")}, id="drop every skill"),
    step({"drop": ("en",), "require": {"en": 1}}, id="drop and require one skill: require wins"),
    step({"require": {"en": 2}}, skills={}, id="require on a contact with no skills"),
    step({"add_priority": 5}, id="add priority"),
    step({"add_priority": -3}, priority=2, id="lower priority below 0"),
    step({"add_priority": 5}, priority=98, id="clamped at 100"),
    step({"add_priority": 1}, priority=100, id="already at 100"),
    step({"add_priority": -5}, priority=-98, id="clamped at -100"),
    step({"add_priority": 200}, priority=-100, id="from -100 to 100"),
    step({"add_priority": 3}, aging=2.5, id="fractional aging"),
    step({"add_priority": 3}, aging=0.1, id="aging not a binary fraction"),
    step({"add_priority": 7}, aging=0.3, priority=-2, id="aging 0.3"),
    step({"add_priority": 3}, aging=0, id="aging 0: score is the arrival"),
    step({"move_to": "support"}, id="move to another queue"),
    step(
        {"move_to": "support", "require": {"tech": 1}, "drop": ("fr",), "add_priority": 4},
        priority=1,
        aging=1.7,
        id="everything at once",
    ),
]


@pytest.mark.parametrize(("contact", "effect", "aging"), RELAXATION)
async def test_relax_agrees_with_apply_effect(
    redis: Redis, contact: WaitingContact, effect: Effect, aging: float
) -> None:
    config = config_with(aging_seconds_per_priority=aging)
    ctx = StoreContext.create(redis, "t1", config, ManualClock(NOW))
    await store_contact(ctx, contact)
    applied = await RelaxationRepository(ctx).apply(contact, "s1", effect, "after 1 s", ctx.rules)
    skills, priority, queue = apply_effect(contact.skills, contact.priority, contact.queue, effect)
    python = (skills, priority, queue, order_score(priority, contact.first_enqueued_ms, aging))
    raw = await redis.hgetall(ctx.keys.contact(contact.id))
    lua = (json.loads(raw["skills"]), int(raw["priority"]), raw["queue"], float(raw["score"]))
    record = json.loads(raw["relaxed"])[-1]  # what explain shows of the step
    assert applied
    assert lua == python
    assert (record["skills"], record["priority"], record["to_queue"]) == python[:3]
    assert await redis.zscore(ctx.keys.queue_waiting(queue), contact.id) == python[3]
    if queue != contact.queue:
        assert await redis.zscore(ctx.keys.queue_waiting(contact.queue), contact.id) is None
