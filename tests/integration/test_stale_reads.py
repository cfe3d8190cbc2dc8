"""Transitions called with a stale read of the contact must not touch the wrong agent."""

from __future__ import annotations

import pytest

from ccaas.desk.service import Desk
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.errors import Conflict
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository


async def test_complete_after_the_contact_moved_to_another_agent(ctx: StoreContext) -> None:
    agents, contacts, offers = AgentRepository(ctx), ContactRepository(ctx), OfferRepository(ctx)
    router = Router(ctx)
    for agent_id in ("ann", "bob"):
        await agents.upsert(agent_id, AgentProfile(agent_id, {}, ["support"]))
    desk = Desk(ctx)
    await desk.set_presence("ann", Presence.AVAILABLE)
    contact_id = (await Ingest(ctx).enqueue(NewContact(Channel.CHAT, "x", "support"))).contact_id
    await router.route_once()
    stale = await contacts.raw(contact_id)  # offered to ann
    assert stale["agent_id"] == "ann"
    await offers.reject(stale["offer_id"], "ann")
    await desk.set_presence("ann", Presence.AWAY, "break")
    await desk.set_presence("bob", Presence.AVAILABLE)
    await router.route_once()
    await desk.accept((await contacts.raw(contact_id))["offer_id"], "bob")

    with pytest.raises(Conflict, match="not connected to agent 'ann'"):
        await contacts.complete(contact_id, "ann", "follow_up")
    assert (await contacts.raw(contact_id)).get("disposition") is None
    assert (
        await contacts.complete(contact_id, "bob", "resolved")
    ).state == "wrap_up"  # support has wrap-up
    ann, bob = await desk.view("ann"), await desk.view("bob")
    assert ann["work"] == [] and ann["presence"] == "away"
    assert [w["state"] for w in bob["work"]] == ["wrap_up"] and bob["presence"] == "wrap_up"
