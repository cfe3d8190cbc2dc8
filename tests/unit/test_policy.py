"""plan_offers: which contacts go to which agents in one routing round."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.eligibility import is_eligible
from ccaas.domain.models import (
    AgentView,
    Channel,
    Membership,
    Presence,
    QueueSpec,
    WaitingContact,
)
from ccaas.domain.ordering import order_key
from ccaas.domain.policy import PlannedOffer, plan_offers
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.domain.strategies import rank_key
from tests.helpers import TEST_CONFIG
from tests.unit.builders import NOW, QUEUES, RULES, SECOND, after_offer, agent, contact, snapshots

VOICE, CHAT, EMAIL, SOCIAL = Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SOCIAL
ALL_QUEUES = ("billing", "support", "sales", "retention")
# TEST_CONFIG plus a least-occupied queue, so every strategy is covered.
CONFIG = RoutingConfig.model_validate(
    {
        **TEST_CONFIG.model_dump(mode="json", exclude={"channels"}),
        "queues": {
            **TEST_CONFIG.model_dump(mode="json")["queues"],
            "retention": {"channels": ["chat", "voice"], "strategy": "least-occupied"},
        },
    }
)


def plan(
    contacts: Iterable[WaitingContact],
    agents: Iterable[AgentView],
    queues: dict[str, QueueSpec] | None = None,
) -> list[tuple[str, str]]:
    queues = dict(CONFIG.queue_specs()) if queues is None else queues
    offers = plan_offers(contacts, {a.id: a for a in agents}, queues, RULES, NOW)
    return [(o.contact_id, o.agent_id) for o in offers]


# --- tables ------------------------------------------------------------------------------

# An agent that just became free: one chat slot left, takes no email, social or calls.
FREED = {
    "queues": ("billing", "support"),
    "work": {"chat": 2},
    "capacity": {"email": 0, "social": 0, "voice": 0},
    "skills": {"fr": 3},
}
OTHERS = [
    agent("on-call", queues=ALL_QUEUES, work={"voice": 1}, idle_since_ms=0),
    agent("away", queues=ALL_QUEUES, presence=Presence.AWAY, idle_since_ms=0),
    agent("offline", queues=ALL_QUEUES, presence=Presence.OFFLINE, idle_since_ms=0),
]


@pytest.mark.parametrize(
    ("freed_kw", "waiting", "expected"),
    [
        pytest.param(
            {},
            [
                contact("b1", queue="billing", waited_s=10),
                contact("s1", queue="support", waited_s=40),
                contact("s2", queue="support", channel=EMAIL, waited_s=100),
            ],
            [("s1", "freed")],
            id="longest-waiting chat across both queues",
        ),
        pytest.param(
            {},
            [
                contact("b1", queue="billing", priority=5, waited_s=10),
                contact("s1", queue="support", waited_s=40),
            ],
            [("b1", "freed")],
            id="priority 5 = 50 s head start beats 30 s more waiting",
        ),
        pytest.param(
            {},
            [
                contact("b1", queue="billing", priority=3, waited_s=5),
                contact("s1", queue="support", waited_s=40),
            ],
            [("s1", "freed")],
            id="priority 3 = 30 s head start is not enough",
        ),
        pytest.param(
            {},
            [
                contact("b1", queue="billing", waited_s=10),
                contact("s1", queue="support", waited_s=40, skills={"fr": 5}),
            ],
            [("b1", "freed")],
            id="skips the contact it lacks the skill for",
        ),
        pytest.param(
            {"queues": ("billing",)},
            [
                contact("b1", queue="billing", waited_s=10),
                contact("s1", queue="support", waited_s=40),
            ],
            [("b1", "freed")],
            id="only from queues it serves",
        ),
        pytest.param(
            {},
            [contact("sa1", queue="sales", channel=EMAIL, waited_s=99)],
            [],
            id="nothing it may take: no offer",
        ),
    ],
)
def test_agent_freeing_up_gets_best_waiting_contact_across_its_queues(
    freed_kw: dict[str, object], waiting: list[WaitingContact], expected: list[tuple[str, str]]
) -> None:
    freed = agent("freed", **{**FREED, **freed_kw})
    assert plan(waiting, [freed, *OTHERS]) == expected


# One team serving every queue; "ann" has waited longest but holds two chats.
TEAM = [
    agent(
        "ann",
        queues=ALL_QUEUES,
        skills={"fr": 3},
        work={"chat": 2},
        idle_since_ms=NOW - 300 * SECOND,
        last_offer_ms={"sales": NOW - 10 * SECOND},
    ),
    agent(
        "bob",
        queues=ALL_QUEUES,
        skills={"fr": 8},
        idle_since_ms=NOW - 100 * SECOND,
        last_offer_ms={"sales": NOW - 200 * SECOND},
    ),
    agent(
        "cid",
        queues=ALL_QUEUES,
        skills={"fr": 5, "en": 4},
        work={"chat": 1},
        idle_since_ms=NOW - 200 * SECOND,
    ),
    agent("dan", queues=ALL_QUEUES, skills={"fr": 10}, presence=Presence.AWAY, idle_since_ms=0),
    agent("eve", queues=("other",), skills={"fr": 10}, idle_since_ms=0),
]


@pytest.mark.parametrize(
    ("arriving", "expected_agent"),
    [
        pytest.param(contact(queue="billing"), "ann", id="longest-idle: ann"),
        pytest.param(
            contact(queue="billing", skills={"fr": 4}), "cid", id="longest-idle among skilled"
        ),
        pytest.param(
            contact(queue="billing", channel=VOICE), "bob", id="call: only bob has an empty desk"
        ),
        pytest.param(
            contact(queue="support", skills={"fr": 1}), "bob", id="most-skilled: bob fr 8"
        ),
        pytest.param(
            contact(queue="support", skills={"fr": 1, "en": 1}),
            "cid",
            id="most-skilled: cid 5+4 beats bob 8+0",
        ),
        pytest.param(contact(queue="support"), "ann", id="most-skilled, no skills: longest idle"),
        pytest.param(
            contact(queue="sales", channel=EMAIL), "cid", id="round-robin: cid never offered"
        ),
        pytest.param(
            contact(queue="sales", channel=VOICE), "bob", id="round-robin call: bob only free"
        ),
        pytest.param(contact(queue="retention"), "bob", id="least-occupied: bob holds none"),
        pytest.param(
            contact(queue="billing", skills={"fr": 9}), None, id="nobody skilled: stays queued"
        ),
    ],
)
def test_arriving_contact_goes_to_best_eligible_agent_by_queue_strategy(
    arriving: WaitingContact, expected_agent: str | None
) -> None:
    expected = [] if expected_agent is None else [(arriving.id, expected_agent)]
    assert plan([arriving], TEAM) == expected


def test_round_robin_rotates_through_the_team_within_a_round() -> None:
    team = [agent(n, queues=("sales",), idle_since_ms=NOW - 10 * SECOND) for n in "xyz"]
    emails = [contact(f"e{i}", queue="sales", channel=EMAIL, waited_s=60 - i) for i in range(6)]
    assert [a for _, a in plan(emails, team)] == ["x", "y", "z", "x", "y", "z"]


def test_round_robin_agent_just_offered_goes_to_the_back_of_the_rotation() -> None:
    # x is first in the rotation although y has been idle far longer; once x is offered
    # an email it must wait its turn, even though it still has room for a second one.
    team = [
        agent(
            "x",
            queues=("sales",),
            idle_since_ms=NOW - 1 * SECOND,
            last_offer_ms={"sales": NOW - 100 * SECOND},
        ),
        agent(
            "y",
            queues=("sales",),
            idle_since_ms=NOW - 300 * SECOND,
            last_offer_ms={"sales": NOW - 50 * SECOND},
        ),
    ]
    emails = [contact(f"e{i}", queue="sales", channel=EMAIL, waited_s=60 - i) for i in range(2)]
    assert plan(emails, team) == [("e0", "x"), ("e1", "y")]


def test_work_is_spread_an_agent_offered_is_no_longer_longest_idle() -> None:
    team = [
        agent("long", idle_since_ms=NOW - 300 * SECOND),
        agent("short", idle_since_ms=NOW - 10 * SECOND),
    ]
    chats = [contact(f"c{i}", waited_s=60 - i) for i in range(2)]
    assert plan(chats, team) == [("c0", "long"), ("c1", "short")]


@pytest.mark.parametrize(
    ("work", "capacity", "channel", "queue", "expected_count"),
    [
        pytest.param({}, {}, CHAT, "billing", 3, id="idle chat agent: 3 chats"),
        pytest.param({"chat": 1}, {}, CHAT, "billing", 2, id="holding 1 chat: 2 more"),
        pytest.param({"chat": 3}, {}, CHAT, "billing", 0, id="holding 3 chats: none"),
        pytest.param({}, {"chat": 5}, CHAT, "billing", 5, id="override 5 chats"),
        pytest.param({}, {"chat": 0}, CHAT, "billing", 0, id="override 0: takes no chat"),
        pytest.param({}, {}, EMAIL, "sales", 2, id="idle: 2 emails"),
        pytest.param({"chat": 3}, {}, EMAIL, "sales", 2, id="full chat, still 2 emails"),
        pytest.param({}, {}, SOCIAL, "support", 3, id="idle: 3 social"),
        pytest.param({"voice": 1}, {}, CHAT, "billing", 0, id="on a call: no chat"),
        pytest.param({"voice": 1}, {}, EMAIL, "sales", 0, id="on a call: no email"),
        pytest.param({}, {}, VOICE, "billing", 1, id="idle: one call only"),
        pytest.param({"email": 1}, {}, VOICE, "sales", 0, id="holding email: no call"),
    ],
)
def test_capacity_is_respected_within_a_round(
    work: dict[str, int],
    capacity: dict[str, int],
    channel: Channel,
    queue: str,
    expected_count: int,
) -> None:
    solo = agent("solo", queues=ALL_QUEUES, work=work, capacity=capacity)
    waiting = [contact(f"w{i}", queue=queue, channel=channel, waited_s=100 - i) for i in range(7)]
    result = plan(waiting, [solo])
    # The best-waiting contacts are the ones offered, in order.
    assert result == [(f"w{i}", "solo") for i in range(expected_count)]


def test_voice_agent_offered_a_call_gets_nothing_else() -> None:
    solo = agent("solo", queues=ALL_QUEUES)
    waiting = [
        contact("call", queue="billing", channel=VOICE, waited_s=90),
        contact("chat1", queue="billing", channel=CHAT, waited_s=80),
        contact("email1", queue="sales", channel=EMAIL, waited_s=70),
        contact("call2", queue="sales", channel=VOICE, waited_s=60),
    ]
    assert plan(waiting, [solo]) == [("call", "solo")]


def test_agent_offered_a_chat_first_gets_no_call_but_more_chats() -> None:
    solo = agent("solo", queues=ALL_QUEUES)
    waiting = [
        contact("chat1", queue="billing", channel=CHAT, waited_s=90),
        contact("call", queue="billing", channel=VOICE, waited_s=80),
        contact("chat2", queue="support", channel=CHAT, waited_s=70),
        contact("email1", queue="sales", channel=EMAIL, waited_s=60),
    ]
    assert plan(waiting, [solo]) == [("chat1", "solo"), ("chat2", "solo"), ("email1", "solo")]


def test_calls_go_one_per_idle_agent() -> None:
    team = [
        agent(n, queues=("billing",), idle_since_ms=NOW - i * SECOND)
        for i, n in enumerate(["p", "q", "r"])
    ]
    calls = [contact(f"v{i}", channel=VOICE, waited_s=50 - i) for i in range(5)]
    assert plan(calls, team) == [("v0", "r"), ("v1", "q"), ("v2", "p")]


def test_a_contact_nobody_can_take_does_not_block_those_behind_it() -> None:
    team = [agent("a", skills={"en": 5})]
    waiting = [
        contact("fr-expert", skills={"fr": 9}, waited_s=500),
        contact("en", skills={"en": 2}, waited_s=10),
    ]
    assert plan(waiting, team) == [("en", "a")]


@pytest.mark.parametrize(
    ("waiting", "agents"),
    [
        pytest.param([], [agent("a")], id="nobody waiting"),
        pytest.param([contact()], [], id="no agents"),
        pytest.param(
            [contact()],
            [agent("a", presence=p) for p in (Presence.AWAY, Presence.OFFLINE, Presence.WRAP_UP)],
            id="no agent available",
        ),
        pytest.param(
            [contact(queue="nowhere")], [agent("a", queues=("nowhere",))], id="queue not configured"
        ),
        pytest.param(
            [contact(queue="support", channel=VOICE)],
            [agent("a", queues=ALL_QUEUES)],
            id="channel the queue does not take",
        ),
    ],
)
def test_no_offers(waiting: list[WaitingContact], agents: list[AgentView]) -> None:
    assert plan(waiting, agents) == []


def test_input_order_of_contacts_and_agents_does_not_matter() -> None:
    team = [agent(n, queues=ALL_QUEUES, idle_since_ms=NOW) for n in "abcd"]
    waiting = [contact(f"c{i}", priority=i % 2, waited_s=i) for i in range(10)]
    expected = plan(waiting, team)
    assert plan(reversed(waiting), reversed(team)) == expected
    assert plan(sorted(waiting, key=lambda c: c.id, reverse=True), team) == expected


# --- properties over random snapshots ----------------------------------------------------

Snapshot = tuple[list[WaitingContact], dict[str, AgentView]]
Offers = list[PlannedOffer]
Step = tuple[PlannedOffer, WaitingContact, AgentView, dict[str, AgentView]]
SPECS = QUEUES  # TEST_CONFIG queues: billing longest-idle, support most-skilled, sales rr


def run(snapshot: Snapshot) -> list[PlannedOffer]:
    contacts, agents = snapshot
    return plan_offers(contacts, agents, SPECS, RULES, NOW)


def replay(
    offers: Sequence[PlannedOffer], snapshot: Snapshot
) -> tuple[list[Step], dict[str, AgentView]]:
    """Apply the offers one by one; each step sees the agents as they were at that moment."""
    contacts, agents = snapshot
    by_id = {c.id: c for c in contacts}
    state = dict(agents)
    steps: list[Step] = []
    for offer in offers:
        before = state[offer.agent_id]
        steps.append((offer, by_id[offer.contact_id], before, dict(state)))
        state[offer.agent_id] = after_offer(before, offer)
    return steps, state


def unplanned(
    offers: Sequence[PlannedOffer], contacts: list[WaitingContact]
) -> list[WaitingContact]:
    taken = {o.contact_id for o in offers}
    return [c for c in contacts if c.id not in taken]


# Each check below is one property; they share generated snapshots (generation is the
# expensive part) and a failing check names itself in the traceback.


def check_every_planned_offer_is_eligible_when_made(snapshot: Snapshot, offers: Offers) -> None:
    steps, _ = replay(offers, snapshot)
    for offer, c, before, _ in steps:
        assert (offer.queue, offer.channel) == (c.queue, c.channel)
        assert is_eligible(before, c, RULES), (offer, before)


def check_no_contact_is_planned_twice_and_only_known_ids(
    snapshot: Snapshot, offers: Offers
) -> None:
    contacts, agents = snapshot
    ids = [o.contact_id for o in offers]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {c.id for c in contacts}
    assert {o.agent_id for o in offers} <= set(agents)


def check_only_available_agents_are_offered_work(snapshot: Snapshot, offers: Offers) -> None:
    _, agents = snapshot
    for offer in offers:
        assert agents[offer.agent_id].presence is Presence.AVAILABLE, offer


DEFAULT_LIMIT = {"voice": 1, "chat": 3, "email": 2, "social": 3}


def check_no_agent_is_pushed_over_capacity(snapshot: Snapshot, offers: Offers) -> None:
    """Spelled out without the eligibility code: per channel, what the agent holds after the
    round stays within its limit; a call is only offered to an empty desk, and alone; an
    agent on a call is offered nothing."""
    _, agents = snapshot
    for agent_id, a in agents.items():
        mine = [o for o in offers if o.agent_id == agent_id]
        if not mine:
            continue
        added = Counter(o.channel.value for o in mine)
        for ch, n in added.items():
            assert a.work.get(ch, 0) + n <= a.capacity.get(ch, DEFAULT_LIMIT[ch]), (a, mine)
        if added["voice"]:
            assert sum(a.work.values()) == 0 and len(mine) == 1, (a, mine)
        assert not a.work.get("voice", 0), (a, mine)


def check_offers_go_out_best_contact_first(snapshot: Snapshot, offers: Offers) -> None:
    contacts, _ = snapshot
    by_id = {c.id: c for c in contacts}
    keys = [order_key(by_id[o.contact_id]) for o in offers]
    assert keys == sorted(keys)


def check_no_better_waiting_contact_was_passed_over_for_the_agent(
    snapshot: Snapshot, offers: Offers
) -> None:
    """For each offer (c, a): every contact that ranks before c and is left waiting was not
    one `a` could take at that moment, so an agent always gets the best it may take."""
    contacts, _ = snapshot
    left = unplanned(offers, contacts)
    steps, _ = replay(offers, snapshot)
    for offer, c, before, _ in steps:
        for better in left:
            if order_key(better) < order_key(c):
                assert not is_eligible(before, better, RULES), (offer, better, before)


def check_each_contact_goes_to_the_best_eligible_agent_by_strategy(
    snapshot: Snapshot, offers: Offers
) -> None:
    """An offered agent is the best-ranked, by the queue's strategy, of the agents eligible
    at that moment (an agent just offered work counts as busy since now, offered now)."""
    steps, _ = replay(offers, snapshot)
    for _, c, before, state in steps:
        strategy = SPECS[c.queue].strategy
        eligible = [a for a in state.values() if is_eligible(a, c, RULES)]
        best = min(eligible, key=lambda a: rank_key(strategy, a, c.queue, c.skills))
        assert best.id == before.id, (c, strategy, [a.id for a in eligible])


def check_plan_is_maximal_nothing_left_that_anyone_could_take(
    snapshot: Snapshot, offers: Offers
) -> None:
    contacts, _ = snapshot
    _, after = replay(offers, snapshot)
    for c in unplanned(offers, contacts):
        for a in after.values():
            assert not is_eligible(a, c, RULES), (c, a)


def check_plan_is_deterministic_and_leaves_the_snapshot_untouched(
    snapshot: Snapshot, offers: Offers, frozen: str, rnd: random.Random
) -> None:
    contacts, agents = snapshot
    first = offers
    assert run(snapshot) == first
    shuffled_contacts = list(contacts)
    rnd.shuffle(shuffled_contacts)
    agent_items = list(agents.items())
    rnd.shuffle(agent_items)
    assert run((shuffled_contacts, dict(agent_items))) == first
    assert repr(snapshot) == frozen


@settings(max_examples=250, deadline=None)
@given(snapshots(), st.randoms(use_true_random=False))
def test_plan_offers_properties_on_random_snapshots(snapshot: Snapshot, rnd: random.Random) -> None:
    frozen = repr(snapshot)
    offers = run(snapshot)
    check_every_planned_offer_is_eligible_when_made(snapshot, offers)
    check_no_contact_is_planned_twice_and_only_known_ids(snapshot, offers)
    check_only_available_agents_are_offered_work(snapshot, offers)
    check_no_agent_is_pushed_over_capacity(snapshot, offers)
    check_offers_go_out_best_contact_first(snapshot, offers)
    check_no_better_waiting_contact_was_passed_over_for_the_agent(snapshot, offers)
    check_each_contact_goes_to_the_best_eligible_agent_by_strategy(snapshot, offers)
    check_plan_is_maximal_nothing_left_that_anyone_could_take(snapshot, offers)
    check_plan_is_deterministic_and_leaves_the_snapshot_untouched(snapshot, offers, frozen, rnd)


def test_a_held_contact_goes_only_to_its_preferred_agent_until_the_hold_ends() -> None:
    idle_long = agent("a1", idle_since_ms=NOW - 600 * SECOND)
    preferred = agent("pat", idle_since_ms=NOW - 1 * SECOND)
    busy_pat = agent("pat", presence=Presence.AWAY)
    held = dataclasses.replace(contact("c1"), preferred_agent="pat", preferred_until_ms=NOW + 1)
    agents = {a.id: a for a in (idle_long, preferred)}
    assert [o.agent_id for o in plan_offers([held], agents, QUEUES, RULES, NOW)] == ["pat"]
    agents["pat"] = busy_pat
    assert plan_offers([held], agents, QUEUES, RULES, NOW) == []  # still held
    after = plan_offers([held], agents, QUEUES, RULES, NOW + 1)  # the hold is over
    assert [o.agent_id for o in after] == ["a1"]


def test_a_delayed_queue_reaches_backup_agents_only_after_the_delay() -> None:
    backup = dataclasses.replace(
        agent("b1", idle_since_ms=NOW - 600 * SECOND),
        memberships={"billing": Membership(priority=2, delay_ms=30 * SECOND)},
    )
    young = dataclasses.replace(contact("c1", waited_s=10), queue_since_ms=NOW - 10 * SECOND)
    assert plan_offers([young], {"b1": backup}, QUEUES, RULES, NOW) == []
    older = dataclasses.replace(young, queue_since_ms=NOW - 30 * SECOND)
    assert [o.agent_id for o in plan_offers([older], {"b1": backup}, QUEUES, RULES, NOW)] == ["b1"]


def test_agents_whose_profile_puts_the_queue_first_are_offered_before_backups() -> None:
    backup = dataclasses.replace(
        agent("b1", idle_since_ms=NOW - 600 * SECOND),
        memberships={"billing": Membership(priority=2)},
    )
    primary = agent("p1", idle_since_ms=NOW - 1 * SECOND)
    offers = plan_offers([contact("c1")], {"b1": backup, "p1": primary}, QUEUES, RULES, NOW)
    assert [o.agent_id for o in offers] == ["p1"]


# --- reject cooldown ---------------------------------------------------------------------

# billing is longest-idle: "first" (idle 90 s) ranks before "second" (idle 30 s)
FIRST = agent("first", idle_since_ms=NOW - 90 * SECOND)
SECOND_AGENT = agent("second", idle_since_ms=NOW - 30 * SECOND)


def rejected_by(seconds_ago: float, *agents: str) -> WaitingContact:
    return dataclasses.replace(
        contact("c1"), rejected_by={a: NOW - int(seconds_ago * SECOND) for a in agents}
    )


@pytest.mark.parametrize(
    ("waiting", "agents", "expected"),
    [
        pytest.param(
            rejected_by(10, "first"), [FIRST, SECOND_AGENT], ("second", False),
            id="passed over while another agent can take it",
        ),
        pytest.param(
            rejected_by(10, "first"), [FIRST], ("first", True),
            id="offered again when nobody else can",
        ),
        pytest.param(
            rejected_by(10, "first"),
            [FIRST, dataclasses.replace(SECOND_AGENT, presence=Presence.AWAY)],
            ("first", True),
            id="an agent who is away cannot take it",
        ),
        pytest.param(
            rejected_by(10, "first", "second"), [FIRST, SECOND_AGENT], ("first", True),
            id="both rejected it: the best of them",
        ),
        pytest.param(
            rejected_by(60, "first"), [FIRST, SECOND_AGENT], ("first", False),
            id="the cooldown (60 s by default) is over",
        ),
    ],
)  # fmt: skip
def test_an_agent_who_rejected_a_contact_is_passed_over_while_another_can_take_it(
    waiting: WaitingContact, agents: list[AgentView], expected: tuple[str, bool]
) -> None:
    (offer,) = plan_offers([waiting], {a.id: a for a in agents}, CONFIG.queue_specs(), RULES, NOW)
    assert (offer.agent_id, offer.despite_reject) == expected


def test_a_queue_without_cooldown_offers_it_to_the_rejecting_agent_first() -> None:
    queues = {**CONFIG.queue_specs()}
    queues["billing"] = dataclasses.replace(queues["billing"], reject_cooldown_seconds=0)
    waiting = rejected_by(1, "first")
    assert plan([waiting], [FIRST, SECOND_AGENT], queues) == [("c1", "first")]
