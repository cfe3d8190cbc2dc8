"""A router that keeps its backlog and agents between rounds offers what a fresh one would."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.text import parse_rules
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from tests.helpers import TEST_CONFIG, arrival_message, offered_to

RULES = """
skills: [vip]
queues:
  vip: {channels: [voice], sla_seconds: 10}
profiles:
  vip_desk: {queues: [vip]}
classification:
  - name: gold
    when: customer.tier == "gold"
    queue: vip
    preferred_agent: {agent: customer.last_agent, hold_seconds: 30}
"""


@pytest.fixture
def ctx(redis: Redis, clock: ManualClock) -> StoreContext:
    return StoreContext.create(redis, "t1", parse_rules(RULES, "r.yaml"), clock)


async def available(ctx: StoreContext, agent_id: str) -> None:
    await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, {}, profile="vip_desk"))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def gold_call(ctx: StoreContext, external_id: str, last_agent: str) -> tuple[str, str]:
    """A call from a gold customer whose last agent is `last_agent`: (contact, customer)."""
    resolved = await CustomerRepository(ctx).resolve([])
    await ctx.redis.hset(ctx.keys.customer(resolved.customer_id), "last_agent", last_agent)
    customer = {"customer_id": resolved.customer_id, "tier": "gold"}
    call = NewContact(Channel.VOICE, external_id, customer=customer)
    return (await Ingest(ctx).enqueue(call)).contact_id, resolved.customer_id


async def test_erasing_the_customer_ends_the_hold_the_router_kept_for_their_last_agent(
    ctx: StoreContext,
) -> None:
    """Dee steps away while the call waits for her; the customer is then erased, which
    removes the preferred agent (it ties the contact to the person). Ann is free: she takes
    the call now, not once the 30 s hold the router remembered would have run out."""
    await available(ctx, "ann")
    await available(ctx, "dee")
    call, customer_id = await gold_call(ctx, "call-1", "dee")
    await Desk(ctx).set_presence("dee", Presence.AWAY, "lunch")
    router = Router(ctx)
    assert await offered_to(router) == {}  # held for dee
    await CustomerRepository(ctx).erase(customer_id)
    assert await offered_to(router) == {call: "ann"}


async def test_an_arrival_whose_offer_is_refused_is_routed_in_the_same_round(
    redis: Redis, clock: ManualClock
) -> None:
    """Ann's profile changes just after a chat arrives (a profile change wakes nobody, and
    the arrival's wake-up is already out). The router routes the chat from its wake-up on
    Ann's old profile, and the claim is refused; the round then reads what changed and
    offers it to her, rather than leaving the chat until the next safety tick."""
    ctx = StoreContext.create(redis, "t1", TEST_CONFIG, clock)
    agents = AgentRepository(ctx)
    await agents.upsert("ann", AgentProfile("ann", {}, ["billing"]))
    await Desk(ctx).set_presence("ann", Presence.AVAILABLE)
    router = Router(ctx)
    assert await offered_to(router) == {}  # the router has read everything
    chat, message = await arrival_message(ctx, "chat-1")
    await agents.upsert("ann", AgentProfile("ann", {"english": 3}, ["billing"]))
    results = await router.route_once(message)
    assert {r.planned.contact_id: r.planned.agent_id for r in results if r.offer_id} == {
        chat: "ann"
    }


GOLD_FIRST = """
queues:
  billing:
    channels: [chat]
    relaxation:
      - name: everyone
        after_seconds: 1
        add_priority: 1
      - name: gold-first
        after_seconds: 10
        when: customer.tier == "gold"
        add_priority: 5
"""


async def test_a_relaxation_step_stops_seeing_an_erased_customer(
    redis: Redis, clock: ManualClock
) -> None:
    """A step that favours gold customers no longer applies to a chat whose customer was
    erased while it waited: the router forgets what it had read of the customer."""
    ctx = StoreContext.create(redis, "t1", parse_rules(GOLD_FIRST, "r.yaml"), clock)
    resolved = await CustomerRepository(ctx).resolve([])
    customer = {"customer_id": resolved.customer_id, "tier": "gold"}
    await Ingest(ctx).enqueue(NewContact(Channel.CHAT, "chat-1", "billing", customer=customer))
    router = Router(ctx)
    clock.advance(2)
    assert [step for _, step in await router.relaxer.relax_once()] == ["queue:billing/everyone"]
    await CustomerRepository(ctx).erase(resolved.customer_id)
    clock.advance(10)
    assert await router.relaxer.relax_once() == []
