"""The claim reads an agent's held work from the counts its hash keeps; counts that no longer
add up to the agent's work hash (an older version's script, still running on one replica
during a rolling upgrade or after a rollback, added or removed work without counting it)
are counted again from the work hash, so they can neither shut an agent out nor let one
take work beside a call."""

from __future__ import annotations

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.models import Channel, Presence
from ccaas.domain.policy import PlannedOffer
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository
from tests.helpers import arrive, offered_to


async def available(ctx: StoreContext, agent_id: str) -> None:
    await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, {}, ["billing"]))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def test_a_call_reaches_the_agent_whose_last_call_an_older_version_ended(
    ctx: StoreContext, clock: ManualClock
) -> None:
    """Ann's hash counts a call this version offered her; an older replica then completed it
    (it removed the call from her work, not from the counts). Her work is empty, so the
    router plans the next call for her (she has been idle longest), and the claim must not
    refuse her for a call she no longer holds: it did on every round, and as nobody else
    was ever planned for that call, it waited while Ann and Bob both sat idle."""
    await available(ctx, "ann")
    await ctx.redis.hset(ctx.keys.agent("ann"), mapping={"held": 1, "held:voice": 1})
    clock.advance(5)
    await available(ctx, "bob")
    call = await arrive(ctx, "call", channel=Channel.VOICE, queue="billing")
    router = Router(ctx)
    assert await offered_to(router) == {call: "ann"}
    kept = await ctx.redis.hgetall(ctx.keys.agent("ann"))
    assert (kept["held"], kept["held:voice"]) == ("1", "1")  # counted again: the new call


async def test_no_chat_is_offered_beside_a_call_an_older_version_gave(
    ctx: StoreContext,
) -> None:
    """Ann's hash counts no work, but an older replica's claim gave her a call (in her work
    hash, not counted). A router planning from a view read before that call offers her a
    chat: the claim must refuse it, since a call blocks every other channel."""
    await available(ctx, "ann")
    before = (await AgentRepository(ctx).views({"ann"}, ctx.rules))["ann"]
    await ctx.redis.hset(ctx.keys.agent("ann"), mapping={"held": 0, "held:voice": 0})
    await ctx.redis.hset(ctx.keys.agent_work("ann"), "c-older", "connected:voice")
    chat = await arrive(ctx, "chat", queue="billing")
    planned = PlannedOffer(chat, "ann", "billing", Channel.CHAT)
    (claim,) = await OfferRepository(ctx).claim_many([planned], {"ann": before})
    assert (claim.offer_id, claim.refused) == (None, "no_capacity")
    assert await ctx.redis.hget(ctx.keys.contact(chat), "state") == "queued"
