"""One person on three channels is one customer with one timeline, in order."""

from __future__ import annotations

from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel
from ccaas.errors import InvalidInput
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository, timeline


async def arrive(ctx: StoreContext, channel: Channel, queue: str, **customer: str) -> str:
    contacts = ContactRepository(ctx)
    external_id = f"{channel}-{ctx.clock.now_ms()}"
    new = NewContact(channel, external_id, queue, customer=dict(customer))
    return (await contacts.enqueue(new)).contact_id


async def test_a_call_a_chat_and_an_email_from_one_person_share_one_timeline(
    ctx: StoreContext, clock: ManualClock
) -> None:
    call = await arrive(ctx, Channel.VOICE, "billing", phone="020 7946 0001")
    customers = CustomerRepository(ctx)
    customer_id = await customers.find_by("phone", "+442079460001")
    # the call's agent puts the customer's email on file
    await customers.add_identities(customer_id, [customers.identity("email", "Jo@Example.com")])
    clock.advance(60)
    chat = await arrive(ctx, Channel.CHAT, "support", login="jo-b", email="jo@example.com")
    clock.advance(60)
    email = await arrive(ctx, Channel.EMAIL, "support", email="JO@example.COM")
    page = await timeline(ctx, customer_id)
    assert [item["contact_id"] for item in page["items"]] == [email, chat, call]
    assert [item["channel"] for item in page["items"]] == ["email", "chat", "voice"]
    contacts = ContactRepository(ctx)
    assert {(await contacts.get(c))["customer_id"] for c in (call, chat, email)} == {customer_id}
    identities = (await customers.get(customer_id))["identities"]
    assert {"kind": "login", "value": "jo-b"} in identities


async def test_a_contact_with_a_malformed_identity_creates_nothing(
    ctx: StoreContext, redis: Redis
) -> None:
    try:
        await arrive(ctx, Channel.VOICE, "billing", phone="12")
    except InvalidInput as refused:
        assert refused.fields["field"] == "customer.phone"
    else:
        raise AssertionError("a malformed phone number was accepted")
    assert await redis.keys("*") == []
