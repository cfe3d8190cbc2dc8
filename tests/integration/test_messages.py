"""Conversations: the customer's side arrives over HTTP, the agent's waits for the adapter,
both are read back in order, bounded, and an erasure leaves none of them anywhere."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from ccaas.domain.roles import Role
from ccaas.router.service import Router
from ccaas.store.messages import MESSAGES_KEPT, MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer, dump, post_contact_from

ADAPTER = bearer(Role.ADAPTER, "web-widget")


async def _held_by_ann(
    api: TestClient, external_id: str = "chat-1", email: str = "jo@example.com"
) -> str:
    """A chat of the customer with that email, connected to agent ann."""
    ann = {"name": "Ann", "queues": ["billing"]}
    assert (await api.put("/v1/agents/ann", json=ann)).status in (200, 201)
    available = await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    assert available.status == 200
    contact = await post_contact_from(api, external_id, {"email": email})
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact['id']}")).json())["offer_id"]
    accepted = await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})
    assert accepted.status == 200
    return str(contact["id"])


async def test_both_sides_are_read_back_in_order_and_the_agents_wait_for_the_adapter(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    contact_id = await _held_by_ann(api)
    path = f"/v1/contacts/{contact_id}/messages"
    first = await api.post(path, json={"text": "my bill is wrong"}, headers=ADAPTER)
    assert first.status == 201
    posted = await first.json()
    assert (posted["from"], posted["text"], posted["delivery"]) == (
        "customer", "my bill is wrong", "received"
    )  # fmt: skip
    ctx = api.server.app[SERVICES].ctx
    reply = await MessageRepository(ctx).post(contact_id, "agent", "let me look", "ann")
    assert reply.holder == "ann"
    seen = await (await api.get(path, headers=bearer(Role.AGENT, "ann"))).json()
    assert [(m["from"], m["text"]) for m in seen] == [
        ("customer", "my bill is wrong"),
        ("agent", "let me look"),
    ]
    assert seen[1]["agent_id"] == "ann" and seen[1]["delivery"] == "queued"
    after = await (await api.get(path, params={"after": seen[0]["id"]})).json()
    assert [m["text"] for m in after] == ["let me look"]
    outbound = await ctx.redis.xrange(ctx.keys.outbound("chat"))
    assert [(f["contact"], f["text"]) for _, f in outbound] == [(contact_id, "let me look")]
    events = [f for _, f in await ctx.redis.xrange(ctx.keys.events)]
    posted_events = [e for e in events if e["type"] == "message_posted"]
    assert len(posted_events) == 2 and all(e["agent"] == "ann" for e in posted_events)
    assert "my bill is wrong" not in json.dumps(events)  # the stream never holds the text


async def test_refused_messages_say_why_and_change_nothing(make_api: MakeApi) -> None:
    api = await make_api()
    contact_id = await _held_by_ann(api)
    voice = await api.post(
        "/v1/contacts", json={"channel": "voice", "external_id": "call-1", "queue": "billing"}
    )
    voice_id = (await voice.json())["id"]
    ctx = api.server.app[SERVICES].ctx
    before = await dump(ctx.redis)
    cases = {
        f"/v1/contacts/{voice_id}/messages": 409,
        "/v1/contacts/nobody/messages": 404,
    }
    for path, status in cases.items():
        assert (await api.post(path, json={"text": "hi"}, headers=ADAPTER)).status == status
    too_long = await api.post(
        f"/v1/contacts/{contact_id}/messages", json={"text": "x" * 4001}, headers=ADAPTER
    )
    assert too_long.status == 422
    assert (await too_long.json())["errors"][0]["field"] == "text"
    empty = await api.post(f"/v1/contacts/{contact_id}/messages", json={"text": ""})
    assert empty.status == 422
    as_agent = await api.post(
        f"/v1/contacts/{contact_id}/messages",
        json={"text": "hi"},
        headers=bearer(Role.AGENT, "ann"),
    )
    assert as_agent.status == 403  # agents write over their websocket
    bad_after = await api.get(f"/v1/contacts/{contact_id}/messages", params={"after": "x"})
    assert bad_after.status == 422
    assert await dump(ctx.redis) == before


async def test_an_agent_reads_only_the_conversations_it_holds(make_api: MakeApi) -> None:
    api = await make_api()
    contact_id = await _held_by_ann(api)
    path = f"/v1/contacts/{contact_id}/messages"
    assert (await api.get(path, headers=bearer(Role.AGENT, "bob"))).status == 403
    assert (await api.get(path, headers=bearer(Role.AGENT, "ann"))).status == 200
    assert (await api.get(path, headers=bearer(Role.SUPERVISOR, "sue"))).status == 200


async def test_the_conversation_keeps_only_the_newest_messages(make_api: MakeApi) -> None:
    api = await make_api()
    contact_id = await _held_by_ann(api)
    repo = MessageRepository(api.server.app[SERVICES].ctx)
    for n in range(MESSAGES_KEPT + 5):
        await repo.post(contact_id, "customer", f"m{n}")
    kept = await api.server.app[SERVICES].ctx.redis.xlen(
        api.server.app[SERVICES].ctx.keys.contact_messages(contact_id)
    )
    assert kept == MESSAGES_KEPT
    first_page = await repo.read(contact_id)
    assert first_page[0]["text"] == "m5"


async def test_an_erasure_leaves_no_message_in_the_conversation_or_the_outbound_stream(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    contact_id = await _held_by_ann(api)
    ctx = api.server.app[SERVICES].ctx
    repo = MessageRepository(ctx)
    await repo.post(contact_id, "customer", "my card number is 4111")
    await repo.post(contact_id, "agent", "thanks, noted 4111", "ann")
    other = await _held_by_ann(api, "chat-other", "sam@example.com")
    await repo.post(other, "agent", "unrelated reply", "ann")
    customer_id = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["customer_id"]
    assert (await api.delete(f"/v1/customers/{customer_id}")).status == 200
    everything = json.dumps(await dump(ctx.redis), default=str)
    assert "4111" not in everything
    outbound = await ctx.redis.xrange(ctx.keys.outbound("chat"))
    assert [f["text"] for _, f in outbound] == ["unrelated reply"]
    refused = await api.post(
        f"/v1/contacts/{contact_id}/messages", json={"text": "again"}, headers=ADAPTER
    )
    assert refused.status == 409
