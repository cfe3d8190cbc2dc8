"""Whatever happens between rounds, the state a router keeps is what a fresh read gives."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import CcaasError
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.client import connect
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from ccaas.store.offers import OfferRepository
from ccaas.store.router_state import RouterState
from tests.helpers import MONDAY_10AM, RULES

AGENTS = ("ann", "bob", "cy")
ASKS = ({}, {"language": "es"}, {"intent": "buy"}, {"agent": "ann"}, {"agent": "bob"})
ARRIVAL = st.tuples(
    st.sampled_from([Channel.CHAT, Channel.VOICE]),
    st.integers(0, len(ASKS) - 1),
    st.sampled_from(["", "callbacks"]),
    st.integers(0, 6),  # external id: a repeat is an idempotent re-enqueue
    st.booleans(),  # from a known customer
)
OP = st.one_of(
    # together in one call, or one call each (the first wake-up goes out, the others wait
    # on it: the round routing the first from its wake-up must not miss them)
    st.tuples(st.just("arrive"), st.lists(ARRIVAL, min_size=1, max_size=3), st.booleans()),
    st.tuples(st.sampled_from(["route", "route_other", "flush_scripts"])),
    st.tuples(
        st.sampled_from(["abandon", "reject", "accept", "complete", "erase"]), st.integers(0, 9)
    ),
    st.tuples(
        st.just("presence"),
        st.sampled_from(AGENTS),
        st.sampled_from([Presence.AVAILABLE, Presence.AWAY]),
    ),
    st.tuples(
        st.just("upsert"),
        st.sampled_from(AGENTS),
        st.sampled_from(["billing_team", "sales_team"]),
        st.sampled_from([0, 3, 7, 9]),
        st.sampled_from([0, 5]),
    ),
    st.tuples(st.just("tick"), st.sampled_from([1, 21, 31, 61])),
)


def _kept(state: RouterState) -> tuple[dict[str, Any], dict[str, Any]]:
    return {c.id: c for c in state.backlog}, dict(state.agents())


async def _arrival(pubsub: Any) -> str | None:
    """The last wake-up message sent since the last look, if any."""
    last = None
    while (message := await pubsub.get_message(timeout=0.01)) is not None:
        if message["type"] == "message":  # not the subscription's confirmation
            last = str(message["data"])
    return last


async def _route_and_check_settled(router: Router, ctx: StoreContext, arrival: str | None) -> None:
    """A round; one that says it settled (no round follows until a wake-up) must have left
    nothing unread: its kept state is what a fresh read gives, before any further read."""
    await router.route_once(arrival)
    if router.settled:
        fresh = RouterState(ctx)
        await fresh.refresh()
        assert _kept(router.state) == _kept(fresh)


async def _run(url: str, ops: list[tuple[Any, ...]]) -> None:
    redis = connect(url)
    await redis.flushdb()
    await redis.script_flush()
    clock = ManualClock(MONDAY_10AM)
    ctx = StoreContext.create(redis, "t1", parse_rules(RULES, "r.yaml"), clock)
    desk, offers, contacts = Desk(ctx), OfferRepository(ctx), ContactRepository(ctx)
    agents, customers = AgentRepository(ctx), CustomerRepository(ctx)
    for agent_id in AGENTS:
        skills = {"billing": 9, "spanish": 5}
        await agents.upsert(agent_id, AgentProfile(agent_id, skills, profile="billing_team"))
        await desk.set_presence(agent_id, Presence.AVAILABLE)
    router, other = Router(ctx), Router(ctx)
    pubsub = redis.pubsub()
    await pubsub.subscribe(ctx.keys.wake_channel)
    arrived: list[str] = []
    try:
        await router.route_once()
        for op in ops:
            kind = op[0]
            clock.advance(0.01)
            with contextlib.suppress(CcaasError):
                if kind == "arrive":
                    new = [
                        NewContact(
                            channel,
                            f"x{ext}",
                            queue,
                            attributes=ASKS[ask],
                            customer={"customer_id": (await customers.resolve([])).customer_id}
                            if known
                            else None,
                        )
                        for channel, ask, queue, ext, known in op[1]
                    ]
                    batches = [new] if op[2] else [[one] for one in new]
                    for batch in batches:
                        for result in await Ingest(ctx).enqueue_many(batch):
                            contact_id = getattr(result, "contact_id", None)
                            if contact_id and contact_id not in arrived:
                                arrived.append(contact_id)
                    await _route_and_check_settled(router, ctx, await _arrival(pubsub))
                elif kind == "route":
                    await _route_and_check_settled(router, ctx, await _arrival(pubsub))
                elif kind == "route_other":
                    await other.route_once()
                elif kind == "flush_scripts":
                    await redis.script_flush()
                elif kind == "presence":
                    await desk.set_presence(op[1], op[2], "break")
                elif kind == "upsert":
                    _, agent_id, profile, billing, spanish = op
                    skills = {"billing": billing, "spanish": spanish}
                    await agents.upsert(agent_id, AgentProfile(agent_id, skills, profile=profile))
                elif kind == "tick":
                    clock.advance(op[1])
                    await router.timers_once()
                elif arrived:
                    contact_id = arrived[op[1] % len(arrived)]
                    raw = await redis.hgetall(ctx.keys.contact(contact_id))
                    if kind == "abandon":
                        await contacts.abandon(contact_id)
                    elif kind == "reject" and raw.get("offer_id"):
                        await offers.reject(raw["offer_id"], raw["agent_id"])
                    elif kind == "accept" and raw.get("offer_id"):
                        await desk.accept(raw["offer_id"], raw["agent_id"])
                    elif kind == "complete" and raw.get("agent_id"):
                        await contacts.complete(contact_id, raw["agent_id"])
                    elif kind == "erase" and raw.get("customer_id"):
                        await customers.erase(raw["customer_id"])
        await router.state.refresh()
        fresh = RouterState(ctx)
        await fresh.refresh()
        assert _kept(router.state) == _kept(fresh)
    finally:
        await pubsub.aclose()
        await redis.aclose()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(OP, max_size=30))
# a call held for ann, away; erasing the customer ends the hold
@example(
    ops=[
        ("presence", "ann", Presence.AWAY),
        ("arrive", [(Channel.CHAT, 3, "", 0, True)], True),
        ("erase", 0),
    ]
)
# two chats one call each: the second's wake-up waits on the first's, which is routed alone
@example(
    ops=[("arrive", [(Channel.CHAT, 0, "", 1, False), (Channel.CHAT, 0, "", 2, False)], False)]
)
# a chat held for ann (away) is abandoned unannounced; the next arrival's wake-up shows it
@example(
    ops=[
        ("presence", "ann", Presence.AWAY),
        ("arrive", [(Channel.CHAT, 3, "", 0, False)], True),
        ("abandon", 0),
        ("arrive", [(Channel.CHAT, 0, "", 1, False)], True),
    ]
)
def test_the_kept_state_equals_a_fresh_read(redis_server: EmbeddedRedis, ops: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_run(redis_server.url, ops))
    finally:
        loop.close()
