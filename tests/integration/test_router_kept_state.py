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
from tests.helpers import offered_to

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
