"""Regressions from a review of the customer store: erased customers, races, paging."""

from __future__ import annotations

from typing import Any

import pytest

from ccaas.desk.service import Desk
from ccaas.domain.identity import identity
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.errors import NotFound
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository


async def test_an_erased_customer_can_be_merged_neither_way(ctx: StoreContext) -> None:
    customers = CustomerRepository(ctx)
    jo = (await customers.resolve([identity("phone", "02079460001", "GB")])).customer_id
    sam = (await customers.resolve([identity("phone", "02079460002", "GB")])).customer_id
    await customers.erase(jo)
    for into, source in ((sam, jo), (jo, sam)):
        with pytest.raises(NotFound):
            await customers.merge(into, source)
    assert (await customers.get(sam))["identities"] == [{"kind": "phone", "value": "+442079460002"}]
    assert await customers.find_by("phone", "02079460002") == sam


async def test_a_contact_arriving_while_its_customer_is_erased_starts_afresh(
    ctx: StoreContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers, contacts, ingest = CustomerRepository(ctx), ContactRepository(ctx), Ingest(ctx)
    await ingest.enqueue(
        NewContact(Channel.CHAT, "first", "support", customer={"phone": "02079460001"})
    )
    jo = await customers.find_by("phone", "02079460001")
    original = AgentRepository.views

    async def erase_meanwhile(self: AgentRepository, agent_ids: Any, rules: Any) -> Any:
        # after the customer was resolved and the contact classified, before it is written
        monkeypatch.setattr(AgentRepository, "views", original)
        await CustomerRepository(self.ctx).erase(jo)  # the DELETE lands just now
        return await original(self, agent_ids, rules)

    monkeypatch.setattr(AgentRepository, "views", erase_meanwhile)
    late = await ingest.enqueue(
        NewContact(Channel.CHAT, "late", "support", customer={"phone": "02079460001"})
    )
    assert await ctx.redis.zrange(ctx.keys.customer_timeline(jo), 0, -1) == []
    assert (await contacts.get(late.contact_id))["customer_id"] != jo


async def test_timeline_pages_keep_contacts_of_the_same_millisecond(ctx: StoreContext) -> None:
    batch = [
        NewContact(Channel.CHAT, f"b{i}", "support", customer={"phone": "02079460001"})
        for i in range(5)
    ]
    await Ingest(ctx).enqueue_many(batch)
    customer_id = await CustomerRepository(ctx).find_by("phone", "02079460001")
    seen: list[str] = []
    page = await CustomerRepository(ctx).timeline(customer_id, limit=2)
    seen += [item["contact_id"] for item in page["items"]]
    while page["next_before"] is not None:
        page = await CustomerRepository(ctx).timeline(
            customer_id, limit=2, before=page["next_before"]
        )
        seen += [item["contact_id"] for item in page["items"]]
    assert len(seen) == len(set(seen)) == 5


async def test_accepting_a_contact_of_a_merged_customer_sets_the_survivors_last_agent(
    ctx: StoreContext,
) -> None:
    customers = CustomerRepository(ctx)
    call = await Ingest(ctx).enqueue(
        NewContact(Channel.CHAT, "c1", "support", customer={"phone": "02079460001"})
    )
    old = await customers.find_by("phone", "02079460001")
    survivor = (await customers.resolve([identity("login", "jo-b", "GB")])).customer_id
    await customers.merge(survivor, old)
    await AgentRepository(ctx).upsert("ann", AgentProfile("Ann", queues=["support"]))
    await Desk(ctx).set_presence("ann", Presence.AVAILABLE)
    (offer,) = [r for r in await Router(ctx).route_once() if r.offer_id]
    assert offer.planned.contact_id == call.contact_id and offer.offer_id is not None
    await Desk(ctx).accept(offer.offer_id, "ann")
    assert (await customers.get(survivor))["last_agent"] == "ann"
