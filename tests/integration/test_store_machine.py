"""A stateful hypothesis machine drives the real Redis store and router against a plain model.

After every step it checks what a contact centre must never see: a contact in two states or
lost, a contact with two agents, an agent over capacity, an offer that skipped a better
waiting contact, or a requeued or relaxed contact that lost its place. Time-triggered
relaxation steps (lower a level, drop a skill, raise priority, move queue) fire as the
clock moves, so the router's cache must notice contacts that changed under it. Rejects start
the queue's cooldown: a contact never rings again for an agent who rejected it within the
cooldown while another agent could take it. Some contacts name a preferred agent: they are
held only for an agent who is logged in, serves the queue and has the skills.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.compiled import compile_rules
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.client import connect
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository
from tests.helpers import TEST_CONFIG

RELAXATION = {
    "support": [
        {"name": "lower-x", "after_seconds": 5, "require": {"x": 1}},
        {"name": "drop-y", "after_seconds": 10, "drop": ["y"]},
    ],
    "sales": [{"name": "boost", "after_seconds": 4, "add_priority": 2}],
    "billing": [{"name": "to-sales", "after_seconds": 21, "move_to": "sales"}],
}
HOLD_SECONDS = 6
COOLDOWN = {"billing": 5}  # the other queues keep the default (60 s)
MACHINE_CONFIG = RoutingConfig.model_validate(
    {
        **TEST_CONFIG.model_dump(mode="json"),
        "queues": {
            name: {
                **queue.model_dump(mode="json"),
                "relaxation": RELAXATION.get(name, []),
                **({"reject_cooldown_seconds": COOLDOWN[name]} if name in COOLDOWN else {}),
            }
            for name, queue in TEST_CONFIG.queues.items()
        },
        # a contact sent with attributes {queue, agent} is classified there, that agent preferred
        "classification": [
            {
                "name": f"held-{name}",
                "when": f'contact.attributes.queue == "{name}"',
                "queue": name,
                "preferred_agent": {
                    "agent": "contact.attributes.agent",
                    "hold_seconds": HOLD_SECONDS,
                },
            }
            for name in TEST_CONFIG.queues
        ],
    }
)
STEPS = compile_rules(MACHINE_CONFIG).queue_steps
AGENTS = ("a1", "a2", "a3")
SKILLS = ("x", "y")
CAPACITY = {"voice": 1, "chat": 3, "email": 2, "social": 3}
EXCLUSIVE = {"voice"}
QUEUE_CHANNELS = [(q, ch.value) for q, spec in TEST_CONFIG.queues.items() for ch in spec.channels]
AGING_MS = TEST_CONFIG.aging_seconds_per_priority * 1000
MAX_MISSED = TEST_CONFIG.max_missed_offers
ACTIVE = ("offered", "connected", "wrap_up")


@dataclass
class ModelContact:
    id: str
    queue: str
    channel: str
    skills: dict[str, int]
    score: float
    external_id: str
    first: int
    priority: int
    state: str = "queued"
    agent: str | None = None
    offer_id: str | None = None
    deadline: int = 0
    queue_since: int = 0
    relaxed: set[str] = field(default_factory=set)
    rejected_by: dict[str, int] = field(default_factory=dict)  # agent -> when (ms)
    preferred: str = ""  # held for this agent until held_until
    held_until: int = 0


@dataclass
class ModelAgent:
    id: str
    skills: dict[str, int]
    queues: set[str]
    presence: str = "offline"
    missed: int = 0
    work: dict[str, str] = field(default_factory=dict)  # contact id -> channel


def has_room(agent: ModelAgent, channel: str, contacts: dict[str, ModelContact]) -> bool:
    held = [contacts[cid].channel for cid in agent.work]
    if channel in EXCLUSIVE and held:
        return False
    if any(ch in EXCLUSIVE for ch in held):
        return False
    return held.count(channel) < CAPACITY[channel]


def has_skills(agent: ModelAgent, skills: dict[str, int]) -> bool:
    return all(agent.skills.get(s, 0) >= lvl for s, lvl in skills.items())


def eligible(
    agent: ModelAgent, c: ModelContact, contacts: dict[str, ModelContact], now: int
) -> bool:
    """May take the contact, leaving aside a recent reject (which gives way: cooled_down)."""
    return (
        agent.presence == "available"
        and c.queue in agent.queues
        and not (c.preferred and c.preferred != agent.id and now < c.held_until)
        and has_skills(agent, c.skills)
        and has_room(agent, c.channel, contacts)
    )


def cooled_down(agent: ModelAgent, c: ModelContact, now: int) -> bool:
    """The agent rejected the contact within its queue's cooldown."""
    cooldown = MACHINE_CONFIG.queues[c.queue].reject_cooldown_seconds * 1000
    return agent.id in c.rejected_by and now - c.rejected_by[agent.id] < cooldown


class StoreMachine(RuleBasedStateMachine):
    redis_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock()
        self.redis: Redis = connect(self.redis_url)
        self.run(self.redis.flushdb())
        self.ctx = StoreContext.create(self.redis, "m", MACHINE_CONFIG, self.clock)
        self.contacts_repo = ContactRepository(self.ctx)
        self.agents_repo = AgentRepository(self.ctx)
        self.offers = OfferRepository(self.ctx)
        # contact ids in arrival order, not random: a replayed example (hypothesis shrinks and
        # re-checks) then draws the very same contacts, and ties in the queue order agree too
        arrival = itertools.count(1)
        self.desk = Desk(self.ctx)
        self.ingest = Ingest(self.ctx, new_id=lambda: f"c{next(arrival):016x}")
        self.router = Router(self.ctx)
        self.contacts: dict[str, ModelContact] = {}
        self.agents: dict[str, ModelAgent] = {}
        self.arrivals = 0

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    # -- set-up -------------------------------------------------------------------------------
    @initialize(
        profiles=st.lists(
            st.tuples(
                st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3)),
                st.sets(st.sampled_from(sorted(TEST_CONFIG.queues)), min_size=1),
            ),
            min_size=len(AGENTS),
            max_size=len(AGENTS),
        )
    )
    def create_agents(self, profiles: list[tuple[dict[str, int], set[str]]]) -> None:
        for agent_id, (skills, queues) in zip(AGENTS, profiles, strict=True):
            self.run(
                self.agents_repo.upsert(agent_id, AgentProfile(agent_id, skills, list(queues)))
            )
            self.agents[agent_id] = ModelAgent(agent_id, skills, queues)
            if agent_id != AGENTS[-1]:  # most start at work, so offers and rejects come early
                self.set_presence(agent_id, "available")

    # -- customers ----------------------------------------------------------------------------
    @rule(
        where=st.sampled_from(QUEUE_CHANNELS),
        skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=2),
        priority=st.integers(-1, 2),
        preferred=st.sampled_from(["", "", *AGENTS]),
    )
    def arrive(
        self, where: tuple[str, str], skills: dict[str, int], priority: int, preferred: str
    ) -> None:
        queue, channel = where
        self.arrivals += 1
        external_id = f"ext-{self.arrivals}"
        if preferred:  # classified into the queue, with that agent preferred
            attributes = {"queue": queue, "agent": preferred}
            new = NewContact(
                Channel(channel), external_id, "", skills, priority, attributes=attributes
            )
        else:
            new = NewContact(Channel(channel), external_id, queue, skills, priority)
        result = self.run(self.ingest.enqueue(new))
        assert result.created
        now = self.clock.now_ms()
        agent = self.agents.get(preferred)
        held = (
            agent is not None
            and agent.presence != "offline"
            and queue in agent.queues
            and has_skills(agent, skills)
        )
        hold_until = self.run(
            self.redis.hget(self.ctx.keys.contact(result.contact_id), "preferred_until")
        )
        assert int(hold_until or 0) == (now + HOLD_SECONDS * 1000 if held else 0), (
            f"hold for {preferred or 'nobody'}: model {held}, redis until {hold_until}"
        )
        self.contacts[result.contact_id] = ModelContact(
            result.contact_id,
            queue,
            channel,
            skills,
            now - priority * AGING_MS,
            new.external_id,
            first=now,
            priority=priority,
            queue_since=now,
            preferred=preferred if held else "",
            held_until=now + HOLD_SECONDS * 1000 if held else 0,
        )

    @rule(data=st.data())
    def same_arrival_again_is_idempotent(self, data: st.DataObject) -> None:
        if not self.contacts:
            return
        first = self.contacts[data.draw(st.sampled_from(sorted(self.contacts)))]
        again = NewContact(Channel(first.channel), first.external_id, first.queue, first.skills)
        result = self.run(self.ingest.enqueue(again))
        assert not result.created and result.contact_id == first.id

    @rule(data=st.data())
    def customer_abandons(self, data: st.DataObject) -> None:
        waiting = sorted(c.id for c in self.contacts.values() if c.state in ("queued", "offered"))
        if not waiting:
            return
        c = self.contacts[data.draw(st.sampled_from(waiting))]
        self.run(self.contacts_repo.abandon(c.id))
        if c.agent:
            del self.agents[c.agent].work[c.id]
        c.state, c.agent, c.offer_id = "abandoned", None, None

    @rule(data=st.data())
    def customer_leaves_a_held_contact(self, data: st.DataObject) -> None:
        """It stays the agent's to complete: nothing in the model changes."""
        held = sorted(c.id for c in self.contacts.values() if c.state in ("connected", "wrap_up"))
        if not held:
            return
        c = self.contacts[data.draw(st.sampled_from(held))]
        assert self.run(self.contacts_repo.abandon(c.id)) == c.state

    # -- agents -------------------------------------------------------------------------------
    @rule(
        agent_id=st.sampled_from(AGENTS), presence=st.sampled_from(["available", "away", "offline"])
    )
    def set_presence(self, agent_id: str, presence: str) -> None:
        self.run(self.desk.set_presence(agent_id, Presence(presence), "break"))
        agent = self.agents[agent_id]
        before = agent.presence
        agent.presence = presence
        if presence == "available":
            if before != "available":
                agent.missed = 0
            for cid in [cid for cid in agent.work if self.contacts[cid].state == "wrap_up"]:
                self._complete_in_model(cid)
        else:
            for cid in [cid for cid in agent.work if self.contacts[cid].state == "offered"]:
                self._requeue_in_model(cid)

    @rule(data=st.data(), accept=st.booleans())
    def agent_answers_offer(self, data: st.DataObject, accept: bool) -> None:
        ringing = sorted(c.id for c in self.contacts.values() if c.state == "offered")
        if not ringing:
            return
        c = self.contacts[data.draw(st.sampled_from(ringing))]
        assert c.offer_id is not None
        if accept:
            assert c.agent is not None
            self.run(self.desk.accept(c.offer_id, c.agent))
            c.state = "connected"
            self.agents[c.agent].missed = 0
        else:
            assert c.agent is not None
            self.run(self.offers.reject(c.offer_id, c.agent))
            now = self.clock.now_ms()
            c.rejected_by[c.agent] = now
            if c.preferred == c.agent and now < c.held_until:
                c.held_until = now  # a reject by the preferred agent ends the hold
            self._requeue_in_model(c.id)

    @rule(data=st.data())
    def agent_rejects_and_the_router_runs(self, data: st.DataObject) -> None:
        """The moment a rejected contact could ring again for the same agent."""
        self.route()
        self.agent_answers_offer(data, accept=False)
        self.route()

    @rule(data=st.data())
    def agent_completes(self, data: st.DataObject) -> None:
        connected = sorted(c.id for c in self.contacts.values() if c.state == "connected")
        if not connected:
            return
        c = self.contacts[data.draw(st.sampled_from(connected))]
        assert c.agent is not None
        state = self.run(self.contacts_repo.complete(c.id, c.agent, "resolved")).state
        wrap_up = TEST_CONFIG.queues[c.queue].wrap_up_seconds
        if wrap_up > 0:
            assert state == "wrap_up"
            c.state, c.deadline = "wrap_up", self.clock.now_ms() + int(wrap_up * 1000)
            if self.agents[c.agent].presence == "available":
                self.agents[c.agent].presence = "wrap_up"
        else:
            assert state == "completed"
            self._complete_in_model(c.id)

    # -- the router and its clock -------------------------------------------------------------
    @rule()
    def route(self) -> None:
        results = self.run(self.router.route_once())
        for result in results:
            assert result.offer_id is not None, f"claim refused: {result}"
            self._check_and_apply_offer(result.planned.contact_id, result.planned.agent_id)
            self.contacts[result.planned.contact_id].offer_id = result.offer_id
        # greedy and complete: nothing waiting is left that some agent could take
        now = self.clock.now_ms()
        for c in self.contacts.values():
            if c.state == "queued":
                for agent in self.agents.values():
                    assert not eligible(agent, c, self.contacts, now), (
                        f"{c.id} still waits although {agent.id} could take it"
                    )

    @rule(seconds=st.sampled_from([1, 4, 6, 21]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.run(self.router.timers_once())
        now = self.clock.now_ms()
        for c in sorted(self.contacts.values(), key=lambda c: c.id):
            if c.state == "offered" and c.deadline <= now:
                agent = self.agents[c.agent or ""]
                self._requeue_in_model(c.id)
                agent.missed += 1
                if agent.missed >= MAX_MISSED and agent.presence == "available":
                    agent.presence = "away"
            elif c.state == "wrap_up" and c.deadline <= now:
                self._complete_in_model(c.id)
        for agent in self.agents.values():
            if agent.presence == "away":  # set "no answer": its other offers stop ringing
                for cid in [cid for cid in agent.work if self.contacts[cid].state == "offered"]:
                    self._requeue_in_model(cid)
        for c in self.contacts.values():
            if c.state == "queued":
                self._relax_in_model(c, now)

    # -- model transitions --------------------------------------------------------------------
    def _check_and_apply_offer(self, contact_id: str, agent_id: str) -> None:
        c, agent = self.contacts[contact_id], self.agents[agent_id]
        now = self.clock.now_ms()
        assert c.state == "queued", f"{contact_id} offered while {c.state}"
        assert eligible(agent, c, self.contacts, now), f"{agent_id} not eligible for {contact_id}"
        if cooled_down(agent, c, now):
            others = [
                a.id
                for a in self.agents.values()
                if a is not agent
                and eligible(a, c, self.contacts, now)
                and not cooled_down(a, c, now)
            ]
            assert not others, (
                f"{contact_id} rang again for {agent_id}, who rejected it lately, "
                f"although {others} could take it"
            )
        for other in self.contacts.values():
            if other.state == "queued" and (other.score, other.id) < (c.score, c.id):
                assert not eligible(agent, other, self.contacts, now), (
                    f"{agent_id} got {contact_id} although better {other.id} waits"
                )
        c.state, c.agent = "offered", agent_id
        timeout = TEST_CONFIG.queues[c.queue].offer_timeout_seconds
        c.deadline = self.clock.now_ms() + int(timeout * 1000)
        agent.work[contact_id] = c.channel

    def _relax_in_model(self, c: ModelContact, now: int) -> None:
        for step in STEPS[c.queue]:
            spec = step.step
            if step.key in c.relaxed or now - c.queue_since < (spec.after_seconds or 0) * 1000:
                continue
            c.relaxed.add(step.key)
            target = spec.move_to
            if target is not None and c.channel not in MACHINE_CONFIG.queues[target].channels:
                break  # recorded, but that queue does not take the channel: no move
            c.skills = {k: v for k, v in c.skills.items() if k not in spec.drop} | spec.require
            c.priority = max(-100, min(100, c.priority + spec.add_priority))
            c.score = c.first - c.priority * AGING_MS
            if target is not None:
                c.queue, c.queue_since = target, now
                break

    def _requeue_in_model(self, contact_id: str) -> None:
        c = self.contacts[contact_id]
        del self.agents[c.agent or ""].work[contact_id]
        c.state, c.agent, c.offer_id = "queued", None, None

    def _complete_in_model(self, contact_id: str) -> None:
        c = self.contacts[contact_id]
        agent = self.agents[c.agent or ""]
        del agent.work[contact_id]
        c.state = "completed"
        if agent.presence == "wrap_up" and not any(
            self.contacts[cid].state == "wrap_up" for cid in agent.work
        ):
            agent.presence = "available"

    # -- what must always hold ----------------------------------------------------------------
    @invariant()
    def redis_agrees_with_the_model(self) -> None:
        keys = self.ctx.keys
        waiting: dict[str, dict[str, float]] = {}
        for queue in TEST_CONFIG.queues:
            waiting[queue] = dict(
                self.run(self.redis.zrange(keys.queue_waiting(queue), 0, -1, withscores=True))
            )
        works = {aid: self.run(self.redis.hgetall(keys.agent_work(aid))) for aid in self.agents}
        available = self.run(self.redis.smembers(keys.agents_available))
        placed: dict[str, list[str]] = {}
        for queue, members in waiting.items():
            for cid in members:
                placed.setdefault(cid, []).append(f"queue:{queue}")
        for aid, work in works.items():
            for cid in work:
                placed.setdefault(cid, []).append(f"agent:{aid}")
        for c in self.contacts.values():
            state = self.run(self.redis.hget(keys.contact(c.id), "state"))
            assert state == c.state, f"{c.id}: redis {state}, model {c.state}"
            where = placed.get(c.id, [])
            if c.state == "queued":
                assert where == [f"queue:{c.queue}"], f"{c.id} queued but found at {where}"
                assert waiting[c.queue][c.id] == c.score, f"{c.id} lost its place"
            elif c.state in ACTIVE:
                assert where == [f"agent:{c.agent}"], f"{c.id} {c.state} but found at {where}"
                assert works[c.agent or ""][c.id] == f"{c.state}:{c.channel}"
            else:
                assert where == [], f"{c.id} {c.state} but still at {where}"
        for agent in self.agents.values():
            presence = self.run(self.redis.hget(keys.agent(agent.id), "presence"))
            assert presence == agent.presence, (
                f"{agent.id}: redis {presence}, model {agent.presence}"
            )
            assert (agent.id in available) == (agent.presence == "available")
            held = [self.contacts[cid].channel for cid in works[agent.id]]
            assert set(works[agent.id]) == set(agent.work)
            kept = self.run(self.redis.hgetall(keys.agent(agent.id)))
            if "held" in kept:  # the counts a claim reads instead of the work hash
                assert int(kept["held"]) == len(held), f"{agent.id} miscounts its work"
                for channel in {*held, *(f[5:] for f in kept if f.startswith("held:"))}:
                    if f"held:{channel}" in kept:
                        assert int(kept[f"held:{channel}"]) == held.count(channel), channel
            for channel in set(held):
                assert held.count(channel) <= CAPACITY[channel], f"{agent.id} over capacity"
            if any(ch in EXCLUSIVE for ch in held):
                assert len(held) == 1, f"{agent.id} holds other work beside a voice contact"


@pytest.mark.slow
@pytest.mark.timeout(360)  # 500 machine runs in CI take 70-110 s on 2 busy cores; a hang, longer
def test_store_never_loses_or_double_assigns(redis_server: EmbeddedRedis) -> None:
    StoreMachine.redis_url = redis_server.url
    run_state_machine_as_test(
        StoreMachine,
        settings=settings(  # max_examples from the profile (tests/conftest.py): 150, in CI 500
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
