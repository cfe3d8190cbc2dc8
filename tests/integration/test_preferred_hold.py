"""A contact is held for its customer's last agent only when that agent could take it."""

from __future__ import annotations

from typing import Any

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
from ccaas.store.explain import ExplainRepository
from ccaas.store.offers import OfferRepository
from tests.helpers import offered_to

RULES = """
skills: [vip, billing]
queues:
  vip: {channels: [voice], sla_seconds: 10}
  written: {channels: [email]}
profiles:
  vip_desk: {queues: [vip]}
  back_office: {queues: [written]}
classification:
  - name: gold
    when: customer.tier == "gold"
    queue: vip
    skills: {vip: 5}
    preferred_agent: {agent: customer.last_agent, hold_seconds: 30}
  - name: written
    queue: written
"""


@pytest.fixture
def ctx(redis: Redis, clock: ManualClock) -> StoreContext:
    return StoreContext.create(redis, "t1", parse_rules(RULES, "r.yaml"), clock)


async def agent(ctx: StoreContext, agent_id: str, profile: str, vip: int = 0) -> None:
    skills = {"vip": vip} if vip else {}
    await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, skills, profile=profile))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def gold_call(ctx: StoreContext, last_agent: str) -> str:
    """A call from a gold customer whose last agent is `last_agent`."""
    customers = CustomerRepository(ctx)
    resolved = await customers.resolve([])
    await ctx.redis.hset(ctx.keys.customer(resolved.customer_id), "last_agent", last_agent)
    customer = {"customer_id": resolved.customer_id, "tier": "gold"}
    arrival = NewContact(Channel.VOICE, f"call-{last_agent}", customer=customer)
    return (await Ingest(ctx).enqueue(arrival)).contact_id


async def hold_of(ctx: StoreContext, contact_id: str) -> dict[str, Any]:
    explained = await ExplainRepository(ctx).explain(contact_id)
    hold: dict[str, Any] = explained["classification"]["preferred_agent"]
    return hold


async def test_no_hold_for_a_last_agent_outside_the_queue(ctx: StoreContext) -> None:
    await agent(ctx, "ann", "vip_desk", vip=9)
    await agent(ctx, "bob", "back_office", vip=9)  # the customer's last agent, on email only
    call = await gold_call(ctx, "bob")
    assert await offered_to(Router(ctx)) == {call: "ann"}  # at once, not after 30 s
    hold = await hold_of(ctx, call)
    assert (hold["hold"], hold["reason"]) == ("not_applied", "not_in_queue")


async def test_no_hold_for_a_last_agent_without_the_skills(ctx: StoreContext) -> None:
    await agent(ctx, "ann", "vip_desk", vip=9)
    await agent(ctx, "cal", "vip_desk", vip=2)
    call = await gold_call(ctx, "cal")
    assert await offered_to(Router(ctx)) == {call: "ann"}
    assert (await hold_of(ctx, call))["reason"] == "lacks_skills"


async def test_a_last_agent_who_could_take_it_holds_it_until_they_reject_it(
    ctx: StoreContext,
) -> None:
    await agent(ctx, "ann", "vip_desk", vip=9)
    await agent(ctx, "dee", "vip_desk", vip=6)
    call = await gold_call(ctx, "dee")
    hold = await hold_of(ctx, call)
    assert (hold["agent"], hold["hold"], hold["hold_seconds"]) == ("dee", "applied", 30)
    router = Router(ctx)
    assert await offered_to(router) == {call: "dee"}
    offer_id = await ctx.redis.hget(ctx.keys.contact(call), "offer_id")
    await OfferRepository(ctx).reject(offer_id, "dee")
    assert await offered_to(router) == {call: "ann"}  # the reject ended the hold
