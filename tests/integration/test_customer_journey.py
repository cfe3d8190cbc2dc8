"""One person on three channels is one customer with one timeline, in order."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.identity import identity
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import InvalidInput, NotFound
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from tests.helpers import dump


async def arrive(ctx: StoreContext, channel: Channel, queue: str, **customer: str) -> str:
    external_id = f"{channel}-{ctx.clock.now_ms()}"
    new = NewContact(channel, external_id, queue, customer=dict(customer))
    return (await Ingest(ctx).enqueue(new)).contact_id


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
    page = await CustomerRepository(ctx).timeline(customer_id)
    assert [item["contact_id"] for item in page["items"]] == [email, chat, call]
    assert [item["channel"] for item in page["items"]] == ["email", "chat", "voice"]
    contacts = ContactRepository(ctx)
    assert {(await contacts.get(c))["customer_id"] for c in (call, chat, email)} == {customer_id}
    identities = (await customers.get(customer_id))["identities"]
    assert {"kind": "login", "value": "jo-b"} in identities


@pytest.mark.parametrize("caller_id", ["anonymous", "Withheld", "999", "12", "+44 20"])
async def test_a_call_from_a_caller_id_that_does_not_parse_is_queued_with_a_warning(
    ctx: StoreContext, redis: Redis, caller_id: str
) -> None:
    call = NewContact(Channel.VOICE, "call-1", "billing", customer={"phone": caller_id})
    result = await Ingest(ctx).enqueue(call)
    assert result.created and (await ContactRepository(ctx).get(result.contact_id))["state"] == (
        "queued"
    )
    (warning,) = result.warnings
    assert warning["field"] == "customer.phone" and "queued without it" in warning["message"]
    assert await redis.hgetall(ctx.keys.identities) == {}  # no identity made of it


async def test_a_contact_naming_an_erased_customer_finds_the_customer_by_its_identities(
    ctx: StoreContext,
) -> None:
    customers = CustomerRepository(ctx)
    old = (await customers.resolve([identity("email", "jo@example.com", "GB")])).customer_id
    await customers.erase(old)
    arrival = NewContact(
        Channel.EMAIL,
        "mail-1",
        "support",
        customer={"customer_id": old, "email": "jo@example.com"},
    )
    result = await Ingest(ctx).enqueue(arrival)
    contact = await ContactRepository(ctx).get(result.contact_id)
    assert contact["state"] == "queued" and contact["customer_id"] not in ("", old)
    assert [w["field"] for w in result.warnings] == ["customer.customer_id"]
    assert await customers.find(identity("email", "jo@example.com", "GB")) == contact["customer_id"]


JOURNEY_RULES = """
queues:
  billing: {channels: [voice, chat]}
  written: {channels: [email]}
profiles:
  voice_team: {queues: [billing]}
  back_office: {queues: [written]}
classification:
  - name: returning
    when: customer.last_agent != ""
    queue: billing
    preferred_agent: {agent: customer.last_agent, hold_seconds: 30}
  - name: written
    when: contact.channel == "email"
    queue: written
  - name: default
    queue: billing
"""


async def _agent(ctx: StoreContext, agent_id: str, profile: str) -> None:
    agents = AgentRepository(ctx)
    await agents.upsert(agent_id, AgentProfile(agent_id, profile=profile))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def _handle(ctx: StoreContext, router: Router, contact_id: str, notes: str) -> str:
    offers = {r.planned.contact_id: r for r in await router.route_once() if r.offer_id}
    offer = offers[contact_id]
    assert offer.offer_id is not None
    agent_id = offer.planned.agent_id
    await Desk(ctx).accept(offer.offer_id, agent_id)
    await ContactRepository(ctx).complete(contact_id, agent_id, "resolved", notes)
    return offer.planned.agent_id


async def test_the_email_agent_sees_the_call_and_the_chat_and_the_last_agent_comes_first(
    redis: Redis, clock: ManualClock
) -> None:
    ctx = StoreContext.create(redis, "t1", parse_rules(JOURNEY_RULES, "r.yaml"), clock)
    router = Router(ctx)
    await _agent(ctx, "ann", "voice_team")
    await _agent(ctx, "zoe", "voice_team")
    await _agent(ctx, "bob", "back_office")
    call = await arrive(ctx, Channel.VOICE, "", phone="+44 20 7946 0001")
    first_agent = await _handle(ctx, router, call, "bill explained; refund promised")
    customers = CustomerRepository(ctx)
    customer_id = await customers.find_by("phone", "02079460001")
    assert (await customers.get(customer_id))["last_agent"] == first_agent
    await customers.add_identities(customer_id, [customers.identity("email", "jo@example.com")])
    clock.advance(60)
    chat = await arrive(ctx, Channel.CHAT, "", login="jo-b", email="Jo@Example.com")
    assert (await ContactRepository(ctx).get(chat))["rule"] == "returning"
    assert await _handle(ctx, router, chat, "refund date confirmed") == first_agent
    clock.advance(60)
    email = await arrive(ctx, Channel.EMAIL, "", email="jo@example.com")
    offers = {r.planned.contact_id: r.planned.agent_id for r in await router.route_once()}
    assert offers == {email: "bob"}
    (item,) = (await Desk(ctx).view("bob"))["work"]
    history = item["customer"]["history"]
    assert [(h["channel"], h["notes"]) for h in history] == [
        ("chat", "refund date confirmed"),
        ("voice", "bill explained; refund promised"),
    ]
    # the last agent is away: the next contact waits for them 30 s, then anyone takes it
    await Desk(ctx).set_presence(first_agent, Presence.AWAY, "lunch")
    clock.advance(60)
    again = await arrive(ctx, Channel.VOICE, "", phone="020 7946 0001")
    assert await router.route_once() == []
    clock.advance(30)
    other = "zoe" if first_agent == "ann" else "ann"
    assert [(r.planned.contact_id, r.planned.agent_id) for r in await router.route_once()] == [
        (again, other)
    ]


async def test_after_erasure_no_api_and_no_key_scan_finds_the_customer(
    ctx: StoreContext, redis: Redis, clock: ManualClock
) -> None:
    personal = ["+442079460001", "7946", "jo@example.com", "Jo Bloggs", "refund promised",
                "account 12-34-56", "jo-b"]  # fmt: skip
    call = await arrive(ctx, Channel.VOICE, "billing", phone="020 7946 0001", name="Jo Bloggs")
    customers = CustomerRepository(ctx)
    customer_id = await customers.find_by("phone", "+442079460001")
    await customers.update(
        customer_id, {"name": "Jo Bloggs", "extras": {"acct": "account 12-34-56"}}
    )
    await customers.add_identities(customer_id, [customers.identity("email", "jo@example.com")])
    clock.advance(5)
    chat = await arrive(ctx, Channel.CHAT, "support", login="jo-b", email="jo@example.com")
    await redis.hset(ctx.keys.contact(call), "notes", "refund promised")  # as complete() writes
    assert await customers.erase(customer_id) == 2
    for kind, value in (("phone", "020 7946 0001"), ("email", "jo@example.com"), ("login", "jo-b")):
        with pytest.raises(NotFound):
            await customers.find_by(kind, value)
    with pytest.raises(NotFound):
        await customers.get(customer_id)
    with pytest.raises(NotFound):
        await CustomerRepository(ctx).timeline(customer_id)
    everything = str(await dump(redis))
    assert [text for text in personal if text in everything] == []
    assert (await ContactRepository(ctx).get(chat))["state"] == "queued"  # routing goes on


VIP_RULES = """
repeat_window_seconds: 3600
queues:
  vip: {channels: [voice, chat]}
  general: {channels: [voice, chat]}
classification:
  - {name: gold, when: 'customer.tier == "gold"', queue: vip}
  - {name: default, queue: general}
priority_rules:
  - {name: repeat-caller, when: contact.repeat, add: 15}
"""


async def test_a_gold_customer_goes_to_vip_and_a_repeat_contact_is_flagged(
    redis: Redis, clock: ManualClock
) -> None:
    ctx = StoreContext.create(redis, "t1", parse_rules(VIP_RULES, "r.yaml"), clock)
    contacts, customers = ContactRepository(ctx), CustomerRepository(ctx)
    first = await contacts.get(await arrive(ctx, Channel.VOICE, "", phone="02079460001"))
    assert (first["queue"], first.get("repeat_of")) == ("general", None)
    await customers.update(first["customer_id"], {"tier": "gold"})
    clock.advance(1800)  # within the hour, on another channel
    second = await contacts.get(await arrive(ctx, Channel.CHAT, "", phone="+442079460001"))
    assert (second["queue"], second["repeat_of"], second["priority"]) == ("vip", first["id"], 15)
    clock.advance(3601)
    third = await contacts.get(await arrive(ctx, Channel.VOICE, "", phone="02079460001"))
    assert (third["queue"], third.get("repeat_of")) == ("vip", None)


async def test_a_long_transcript_is_kept_apart_shown_by_size_and_erased_with_the_customer(
    ctx: StoreContext, redis: Redis
) -> None:
    chat = await arrive(ctx, Channel.CHAT, "support", email="jo@example.com")
    transcript = "Jo: my bill is wrong\n" * 2000
    contacts, customers = ContactRepository(ctx), CustomerRepository(ctx)
    await contacts.attach_body(chat, transcript, "transcript")
    assert await contacts.body(chat) == transcript
    customer_id = await customers.find_by("email", "jo@example.com")
    (item,) = (await CustomerRepository(ctx).timeline(customer_id))["items"]
    assert item["body_bytes"] == len(transcript)
    await customers.erase(customer_id)
    with pytest.raises(NotFound):
        await contacts.body(chat)
    assert "my bill is wrong" not in str(await dump(redis))


async def test_the_adapter_sets_profile_fields_and_a_bad_one_is_refused(
    ctx: StoreContext, redis: Redis
) -> None:
    await arrive(ctx, Channel.VOICE, "billing", phone="02079460001", name="Jo", tier="gold")
    customers = CustomerRepository(ctx)
    profile = await customers.get(await customers.find_by("phone", "02079460001"))
    assert (profile["name"], profile["tier"]) == ("Jo", "gold")
    before = await dump(redis)
    with pytest.raises(InvalidInput) as refused:
        await arrive(ctx, Channel.VOICE, "billing", phone="02079460002", language="no language!")
    assert refused.value.fields["field"] == "customer.language"
    assert await dump(redis) == before
