"""A customer who hangs up while a relaxation step moves their contact leaves no ghost behind."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.domain.models import Channel
from ccaas.domain.rules.text import parse_rules
from ccaas.router.service import Router
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from tests.helpers import MONDAY_10AM, add_agent, arrive, offered_to

RULES = """
queues:
  first: {channels: [voice], overflow: {after_seconds: 30, to: second}}
  second: {channels: [voice]}
profiles:
  team: {queues: [second]}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


async def test_abandon_racing_a_move_leaves_a_ghost_that_blocks_the_agent(
    redis: Redis, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = StoreContext.create(redis, "t1", parse_rules(RULES, "r"), clock)
    router = Router(ctx)
    leaver = await arrive(ctx, "v1", channel=Channel.VOICE, queue="first")
    clock.advance(30)  # the overflow step is due

    real_raw = ContactRepository.raw

    async def raw_then_relax(self: ContactRepository, contact_id: str) -> dict[str, str]:
        raw = await real_raw(self, contact_id)
        await router.relaxer.relax_once()  # another replica's relaxer runs right now
        return raw

    monkeypatch.setattr(ContactRepository, "raw", raw_then_relax)
    await ContactRepository(ctx).abandon(leaver)  # the customer hangs up: 200
    monkeypatch.setattr(ContactRepository, "raw", real_raw)

    state = await redis.hget(ctx.keys.contact(leaver), "state")
    ghost = await redis.zscore(ctx.keys.queue_waiting("second"), leaver)
    caller = await arrive(ctx, "v2", channel=Channel.VOICE, queue="second")
    await add_agent(ctx, "ann", {}, profile="team")
    offers = {}
    for _ in range(5):
        clock.advance(1)
        offers |= await offered_to(router)
    stats = await ctx.redis.zcard(ctx.keys.queue_waiting("second"))
    assert (state, ghost, offers) == ("abandoned", None, {caller: "ann"}), (
        f"abandoned contact still in 'second' (score {ghost}, waiting={stats}); "
        f"offers over 5 rounds: {offers}"
    )
