"""The router sees the whole backlog, however deep, and keeps it right as contacts come and go."""

from __future__ import annotations

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from tests.helpers import arrive, offered_to


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
