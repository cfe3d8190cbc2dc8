"""An agent's desk never shows a contact that left the agent while its view was read."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ccaas.desk.service import Desk
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext


async def test_a_ring_out_between_the_two_reads_does_not_show_the_next_agents_offer(
    ctx: StoreContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, router = Desk(ctx), Router(ctx)
    for agent_id in ("p", "q"):
        await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, {}, ["support"]))
    await desk.set_presence("p", Presence.AVAILABLE)
    contact_id = (await Ingest(ctx).enqueue(NewContact(Channel.CHAT, "x", "support"))).contact_id
    await router.route_once()  # offered to p
    real = ContactRepository.fields_of

    async def ring_out_meanwhile(
        self: ContactRepository, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> list[list[str | None]]:
        monkeypatch.setattr(ContactRepository, "fields_of", real)
        await desk.set_presence("p", Presence.AWAY, "break")  # p's offer is withdrawn...
        await desk.set_presence("q", Presence.AVAILABLE)
        await router.route_once()  # ...and q is offered the contact, before p's view reads it
        return await real(self, contact_ids, fields)

    monkeypatch.setattr(ContactRepository, "fields_of", ring_out_meanwhile)
    p_view = await desk.view("p")
    assert p_view["work"] == []
    (q_item,) = (await desk.view("q"))["work"]
    assert q_item["contact_id"] == contact_id and q_item["offer_id"].startswith(contact_id)
