"""Email from the sender's side, over real SMTP: a mail becomes a contact, a reply lands on
the same contact, the agent's answer leaves through the relay threaded, and what cannot be
stored is refused so the sender tries again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError

from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.runtime.engine import EmailOptions
from ccaas.store.contacts import ContactRepository
from ccaas.store.messages import MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.smtp_servers import Sink, customer_mail, relay_sink, send

RULES = RoutingConfig.model_validate(
    {
        "queues": {"support": {"channels": ["email", "chat"]}, "billing": {"channels": ["chat"]}},
        "classification": [
            {"name": "email", "when": 'contact.channel == "email"', "queue": "support"}
        ],
    }
)


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, int]]:
    async with relay_sink() as found:
        yield found


@pytest.fixture
async def api(make_api: MakeApi, sink: tuple[Sink, int]) -> TestClient:
    email = EmailOptions(relay_url=f"smtp://127.0.0.1:{sink[1]}", sender="Acme <support@acme.test>")
    return await make_api(RULES, email=email)


async def _smtp_port(api: TestClient) -> int:
    health = await (await api.get("/healthz")).json()
    host, _, port = health["smtp"].rpartition(":")
    assert host == "127.0.0.1"
    return int(port)


async def _contact_of(api: TestClient, message_id: str) -> dict[str, Any]:
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.external_ids, f"email:{message_id}")
    assert contact_id, f"no contact for {message_id}"
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def test_an_email_becomes_a_contact_and_a_reply_joins_it(api: TestClient) -> None:
    port = await _smtp_port(api)
    first = customer_mail("I was charged twice.", message_id="<a1@example.com>")
    answer = await send(port, first)
    assert answer.startswith("250"), answer
    contact = await _contact_of(api, "<a1@example.com>")
    assert (contact["channel"], contact["queue"], contact["state"]) == (
        "email",
        "support",
        "queued",
    )
    assert contact["attributes"]["subject"] == "My bill is wrong"
    customer = await (await api.get(f"/v1/customers/{contact['customer_id']}")).json()
    assert {"kind": "email", "value": "jo@example.com"} in customer["identities"]
    assert customer["name"] == "Jo Bloggs"
    body = await api.get(f"/v1/contacts/{contact['id']}/body")
    assert "I was charged twice." in await body.text()
    follow_up = customer_mail(
        "Also, the direct debit failed.",
        message_id="<a2@example.com>",
        subject="Re: My bill is wrong",
        in_reply_to="<a1@example.com>",
        references="<a1@example.com>",
    )
    assert (await send(port, follow_up)).startswith("250")
    assert (await send(port, follow_up)).startswith("250")  # sent twice: added once
    assert (await send(port, first)).startswith("250")  # the first again: nothing new
    messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
    assert [m["text"] for m in messages] == [
        "I was charged twice.",
        "Also, the direct debit failed.",
    ]
    ctx = api.server.app[SERVICES].ctx
    assert await ctx.redis.hlen(ctx.keys.external_ids) == 1  # one contact


async def _held_email(api: TestClient, port: int) -> dict[str, Any]:
    agent = {"name": "Ann", "queues": ["support"], "capacity": {"email": 2}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    assert (await send(port, customer_mail("Hello?", message_id="<b1@example.com>"))).startswith(
        "250"
    )
    contact = await _contact_of(api, "<b1@example.com>")
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact['id']}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    return contact


async def test_the_agents_reply_leaves_through_the_relay_threaded(
    api: TestClient, sink: tuple[Sink, int]
) -> None:
    port = await _smtp_port(api)
    contact = await _held_email(api, port)
    ctx = api.server.app[SERVICES].ctx
    posted = await MessageRepository(ctx).post(contact["id"], "agent", "We refunded you.", "ann")
    relay, _ = sink
    async with asyncio.timeout(10):
        await relay.arrived.wait()
    sent = relay.messages[0]
    assert sent["To"] == "jo@example.com" and "support@acme.test" in sent["From"]
    assert sent["Subject"] == "Re: My bill is wrong"
    assert sent["In-Reply-To"] == "<b1@example.com>"
    assert "<b1@example.com>" in sent["References"]
    assert sent.get_content().strip() == "We refunded you."
    ours = sent["Message-ID"]
    assert ours == f"<m.{posted.message_id}.{contact['id']}@acme.test>"
    for _ in range(100):  # the relay took it: sent
        messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
        if messages[-1]["delivery"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert messages[-1]["delivery"] == "sent"
    # the customer answers our reply: it lands on the same contact
    answer = customer_mail(
        "Thanks!",
        message_id="<b2@example.com>",
        in_reply_to=ours,
        references=f"<b1@example.com> {ours}",
    )
    assert (await send(port, answer)).startswith("250")
    messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
    assert [m["text"] for m in messages] == ["Hello?", "We refunded you.", "Thanks!"]


async def test_a_reply_the_relay_refuses_for_good_is_marked_failed(
    api: TestClient, sink: tuple[Sink, int]
) -> None:
    port = await _smtp_port(api)
    contact = await _held_email(api, port)
    relay, _ = sink
    relay.answer = "550 5.1.1 mailbox unknown"
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(contact["id"], "agent", "Anyone there?", "ann")
    for _ in range(200):
        messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
        if messages[-1]["delivery"] == "failed":
            break
        await asyncio.sleep(0.05)
    assert messages[-1]["delivery"] == "failed"
    assert "550" in messages[-1]["delivery_reason"]


async def test_what_cannot_be_stored_is_refused_and_changes_nothing(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await _smtp_port(api)
    redis = api.server.app[SERVICES].ctx.redis
    before = await dump(redis)
    no_sender = customer_mail("hi", message_id="<c1@example.com>", sender="not an address")
    assert (await send(port, no_sender)).startswith("550")
    assert await dump(redis) == before

    async def redis_gone(*args: Any) -> None:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(ContactRepository, "insert", redis_gone)
    answer = await send(port, customer_mail("hi", message_id="<c2@example.com>"))
    assert answer.startswith("451"), answer  # the sender keeps it and tries again
    monkeypatch.undo()
    ctx = api.server.app[SERVICES].ctx
    assert await ctx.redis.hlen(ctx.keys.external_ids) == 0  # no contact was made
    assert (await send(port, customer_mail("hi", message_id="<c2@example.com>"))).startswith("250")
    assert await ctx.redis.hlen(ctx.keys.external_ids) == 1


async def test_a_mail_larger_than_the_limit_is_refused_by_size(make_api: MakeApi) -> None:
    api = await make_api(RULES, email=EmailOptions(max_bytes=2048))
    port = await _smtp_port(api)
    big = customer_mail(("x" * 70 + "\n") * 80, message_id="<d1@example.com>")
    answer = await send(port, big)
    assert answer.startswith("552"), answer  # beyond SIZE: refused, and the sender is told why
    ctx = api.server.app[SERVICES].ctx
    assert await ctx.redis.hlen(ctx.keys.external_ids) == 0
