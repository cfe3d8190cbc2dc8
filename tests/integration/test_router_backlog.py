"""The router sees the whole backlog, however deep, and keeps it right as contacts come and go."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router, RouterSettings
from ccaas.store import contacts as contacts_module
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.keys import CHANGES_TRIMMED
from tests.helpers import arrival_message, arrive, offered_to


async def add_agent(ctx: StoreContext, agent_id: str, skills: dict[str, int]) -> None:
    """An available agent serving billing (TEST_CONFIG has no routing profiles)."""
    await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, skills, ["billing"]))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def test_a_contact_behind_a_long_line_nobody_can_take_is_still_offered(
    ctx: StoreContext, clock: ManualClock
) -> None:
    """1,200 contacts need a skill no agent has; the plain contact queued behind them goes to
    the agent who is free (a router that read only the head of the queue never saw it)."""
    ingest = Ingest(ctx)
    for start in range(0, 1200, 400):
        await ingest.enqueue_many(
            [
                NewContact(Channel.CHAT, f"rare-{n}", "billing", {"klingon": 5})
                for n in range(start, start + 400)
            ]
        )
    clock.advance(1)
    plain = await arrive(ctx, "plain", queue="billing")
    await add_agent(ctx, "ann", {"english": 5})
    assert await offered_to(Router(ctx)) == {plain: "ann"}


async def test_contacts_that_arrive_or_leave_between_rounds_are_seen_by_the_next(
    ctx: StoreContext,
) -> None:
    router = Router(ctx)
    assert await offered_to(router) == {}  # the router has read everything once
    gone = await arrive(ctx, "gone", queue="billing")
    await ContactRepository(ctx).abandon(gone)
    stays = await arrive(ctx, "stays", queue="billing")
    await add_agent(ctx, "ann", {})
    assert await offered_to(router) == {stays: "ann"}
    assert await offered_to(router) == {}  # offered once, never again


async def test_an_arrival_routed_from_its_wake_up_sees_an_agent_freed_meanwhile(
    ctx: StoreContext, clock: ManualClock
) -> None:
    """Ann has waited longest but was full when the router last read; she finishes a chat.
    The next arrival is hers: a router that routed it from its wake-up alone, on what it
    read before, would give it to Bob."""
    router = Router(ctx)
    await AgentRepository(ctx).upsert(
        "ann", AgentProfile("ann", {}, ["billing"], {Channel.CHAT: 2})
    )
    await Desk(ctx).set_presence("ann", Presence.AVAILABLE)
    first = await arrive(ctx, "first", queue="billing")
    second = await arrive(ctx, "second", queue="billing")
    assert await offered_to(router) == {first: "ann", second: "ann"}
    desk = Desk(ctx)
    for offer in await ctx.redis.zrange(ctx.keys.offer_deadlines, 0, -1):
        await desk.accept(offer, "ann")
    clock.advance(10)
    await add_agent(ctx, "bob", {})
    assert await offered_to(router) == {}  # the router has read everything
    clock.advance(10)
    await ContactRepository(ctx).complete(first, "ann", "resolved")
    await ctx.redis.delete(ctx.keys.wake_pending)  # its wake-up flag ran out meanwhile
    third, message = await arrival_message(ctx, "third")
    results = await router.route_once(message)
    assert {r.planned.contact_id: r.planned.agent_id for r in results if r.offer_id} == {
        third: "ann"
    }


async def test_arrivals_routed_from_their_wake_ups_each_wake_the_router(
    ctx: StoreContext,
) -> None:
    """Each arrival's wake-up carries it and the router routes it from that alone; the round
    clears the wake-up flag, so the next arrival wakes the router too (not a second later)."""
    router = Router(ctx)
    await add_agent(ctx, "ann", {})
    assert await offered_to(router) == {}
    for n in range(3):
        contact_id, message = await arrival_message(ctx, f"chat-{n}")
        results = await router.route_once(message)
        assert [(r.planned.contact_id, r.offer_id is not None) for r in results] == [
            (contact_id, True)
        ]


async def test_a_skill_given_to_an_available_agent_routes_the_contact_that_needed_it(
    ctx: StoreContext,
) -> None:
    """An admin gives Ann the skill a waiting chat needs: the running router offers it at
    once, not at its next safety tick (set to a minute here)."""
    await add_agent(ctx, "ann", {})
    chat = await arrive(ctx, "needs-french", queue="billing", skills={"french": 3})
    router = Router(ctx, RouterSettings(safety_tick_seconds=60))
    running = asyncio.create_task(router.run())
    try:
        await asyncio.sleep(0.3)  # it has read everything and waits
        assert await ctx.redis.hget(ctx.keys.contact(chat), "state") == "queued"
        profile = AgentProfile("ann", {"french": 4}, ["billing"])
        await AgentRepository(ctx).upsert("ann", profile)
        for _ in range(50):
            if await ctx.redis.hget(ctx.keys.contact(chat), "state") == "offered":
                break
            await asyncio.sleep(0.1)
        assert await ctx.redis.hget(ctx.keys.contact(chat), "agent_id") == "ann"
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_chat_whose_wake_up_an_arrival_swallowed_is_routed_by_the_next_round(
    ctx: StoreContext,
) -> None:
    """Two chats arrive together; only the first one's wake-up goes out (one is pending),
    and the router routes that chat from it without reading Redis. The second is seen by a
    round that follows at once, not left for the safety tick; a lone arrival is not
    followed by a round at all."""
    router = Router(ctx)
    await add_agent(ctx, "ann", {})
    await add_agent(ctx, "bob", {})
    assert await offered_to(router) == {}  # the router has read everything
    first, message = await arrival_message(ctx, "first")
    second = await arrive(ctx, "second", queue="billing")  # its wake-up is swallowed
    results = await router.route_once(message)
    assert [r.planned.contact_id for r in results if r.offer_id] == [first]
    assert not router.settled  # so the match loop goes on at once
    assert set(await offered_to(router)) == {second}

    third, message = await arrival_message(ctx, "third")
    results = await router.route_once(message)
    assert [r.planned.contact_id for r in results if r.offer_id] == [third]
    assert router.settled  # nothing else changed: no round follows
    fourth, message = await arrival_message(ctx, "fourth")
    await ctx.redis.config_resetstat()
    results = await router.route_once(message)
    assert [r.planned.contact_id for r in results if r.offer_id] == [fourth]
    assert router.settled
    reads = await ctx.redis.info("commandstats")
    assert "cmdstat_zrangebyscore" not in reads  # routed from its wake-up alone, unread


async def test_a_router_that_fell_behind_the_kept_changes_reads_everything_again(
    ctx: StoreContext, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contact changes zset keeps only the newest changes (here 200). While Ann is away,
    300 chats arrive, more than the zset keeps, so the oldest arrivals are trimmed away
    before the router reads them. When Ann logs in the router reads everything again and
    offers her the three chats that waited longest, not the oldest of those it still finds."""
    monkeypatch.setattr(contacts_module, "CONTACT_CHANGES_KEPT", 200)
    await add_agent(ctx, "ann", {})
    await Desk(ctx).set_presence("ann", Presence.AWAY, "lunch")
    router = Router(ctx)
    assert await offered_to(router) == {}  # it has read everything
    chats = []
    for n in range(300):
        clock.advance(1)
        chats.append(await arrive(ctx, f"chat-{n}", queue="billing"))
    assert await ctx.redis.zscore(ctx.keys.contact_changes, CHANGES_TRIMMED) is not None
    await Desk(ctx).set_presence("ann", Presence.AVAILABLE)
    assert await offered_to(router) == {chat: "ann" for chat in chats[:3]}
    assert len(router.state.backlog) == 297
