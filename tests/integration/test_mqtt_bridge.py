"""The MQTT bridge from the adapter's side, on a real broker: contacts, messages and
receipts in; events, agents' messages, places and refusals out."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.channels.mqtt_topics import Inbound
from ccaas.domain.roles import Role
from ccaas.router.service import Router
from ccaas.runtime.embedded_mqtt import EmbeddedBroker
from ccaas.runtime.engine import BRIDGE, MqttOptions
from ccaas.store.messages import MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer, dump
from tests.mqtt_adapter import Adapter, adapter_on


@pytest.fixture
def tenant() -> str:
    return "m" + secrets.token_hex(4)  # the broker is shared: each test has its own topics


@pytest.fixture
async def api(make_api: MakeApi, mqtt_broker: EmbeddedBroker, tenant: str) -> TestClient:
    options = MqttOptions(mqtt_broker.url, f"ccaas-{tenant}")
    client = await make_api(tenant=tenant, mqtt=options)
    await client.server.app[BRIDGE].connected.wait()
    return client


@pytest.fixture
async def adapter(
    api: TestClient, mqtt_broker: EmbeddedBroker, tenant: str
) -> AsyncIterator[Adapter]:
    async with adapter_on(mqtt_broker.port, tenant) as connected:
        yield connected


def _contact(external_id: str, **extra: Any) -> dict[str, Any]:
    return {"channel": "chat", "external_id": external_id, "queue": "billing", **extra}


def _event(name: str, contact_id: str | None = None) -> Any:
    def matches(topic: str, payload: dict[str, Any]) -> bool:
        return (
            topic.endswith("/events")
            and payload.get("event") == name
            and (contact_id is None or payload["contact_id"] == contact_id)
        )

    return matches


def _error(topic: str, payload: dict[str, Any]) -> bool:
    return "/errors/" in topic


async def _available_agent(api: TestClient, agent_id: str = "ann") -> None:
    assert (
        await api.put(f"/v1/agents/{agent_id}", json={"name": "Ann", "queues": ["billing"]})
    ).status == 201
    presence = await api.put(f"/v1/agents/{agent_id}/presence", json={"presence": "available"})
    assert presence.status == 200


async def test_a_published_contact_is_queued_offered_and_its_events_reach_the_adapter(
    api: TestClient, adapter: Adapter, tenant: str
) -> None:
    await _available_agent(api)
    await adapter.publish(Inbound.CONTACTS, _contact("chat-1", adapter="web"))
    queued = await adapter.expect(_event("queued"))
    assert (queued["channel"], queued["external_id"], queued["queue"]) == (
        "chat",
        "chat-1",
        "billing",
    )
    contact_id = queued["contact_id"]
    assert adapter.topics.contact_events(contact_id) in {t for t, _ in adapter.seen}
    contact = await (await api.get(f"/v1/contacts/{contact_id}")).json()
    assert contact["state"] == "queued" and contact["external_id"] == "chat-1"
    await Router(api.server.app[SERVICES].ctx).route_once()
    offered = await adapter.expect(_event("offered", contact_id))
    assert offered["agent_id"] == "ann"
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    connected = await adapter.expect(_event("connected", contact_id))
    assert connected["agent_id"] == "ann" and connected["external_id"] == "chat-1"


async def test_a_contact_published_twice_is_one_contact(api: TestClient, adapter: Adapter) -> None:
    for _ in range(2):
        await adapter.publish(Inbound.CONTACTS, _contact("chat-2"))
    await adapter.expect(_event("queued"))
    await adapter.publish(Inbound.CONTACTS, _contact("chat-3"))  # after both copies
    await adapter.expect(lambda t, p: p.get("event") == "queued" and p["external_id"] == "chat-3")
    ctx = api.server.app[SERVICES].ctx
    assert sorted(await ctx.redis.hkeys(ctx.keys.external_ids)) == ["chat:chat-2", "chat:chat-3"]
    queued = [
        f for _, f in await ctx.redis.xrange(ctx.keys.events) if f["type"] == "contact_queued"
    ]
    assert len(queued) == 2


@pytest.mark.parametrize(
    ("kind", "payload", "status", "field"),
    [
        (Inbound.CONTACTS, b"{not json", 400, None),
        (Inbound.CONTACTS, b"[1, 2]", 400, None),
        (Inbound.CONTACTS, {"channel": "fax", "external_id": "x"}, 422, "channel"),
        (Inbound.CONTACTS, {**_contact("c"), "colour": "red"}, 422, "colour"),
        (Inbound.CONTACTS, {**_contact("c"), "queue": "nowhere"}, 422, "queue"),
        (Inbound.MESSAGES, {"contact_id": "nobody", "message_id": "m1", "text": "hi"}, 404, None),
        (Inbound.MESSAGES, {"message_id": "m1", "text": "hi"}, 422, None),
        (Inbound.MESSAGES, {"contact_id": "c", "text": "hi"}, 422, "message_id"),
        (Inbound.RECEIPTS, {"contact_id": "c", "message_id": "1-0", "state": "lost"}, 422, "state"),
        (Inbound.RECEIPTS, {"contact_id": "c", "message_id": "1-0", "state": "sent"}, 404, None),
        (Inbound.CONTACTS, b"x" * (64 * 1024 + 1), 413, None),
    ],
)
async def test_a_bad_payload_goes_to_the_errors_topic_and_changes_nothing(
    api: TestClient,
    adapter: Adapter,
    kind: Inbound,
    payload: dict[str, Any] | bytes,
    status: int,
    field: str | None,
) -> None:
    redis = api.server.app[SERVICES].ctx.redis
    before = await dump(redis)
    await adapter.publish(kind, payload)
    problem = await adapter.expect(_error)
    assert problem["status"] == status and problem["topic"] == adapter.topics.inbound(kind)
    assert problem["type"].startswith("/v1/problems/") and problem["detail"]
    if field is not None:
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert await dump(redis) == before


async def test_a_refusal_goes_to_the_adapters_own_errors_topic_with_its_ids(
    api: TestClient, adapter: Adapter
) -> None:
    closed = {**_contact("chat-9", adapter="web-widget"), "queue": "nowhere"}
    await adapter.publish(Inbound.CONTACTS, closed)
    problem = await adapter.expect(_error)
    assert adapter.on(adapter.topics.errors("web-widget")) == [problem]
    assert (problem["external_id"], problem["channel"]) == ("chat-9", "chat")
    await adapter.publish(
        Inbound.MESSAGES,
        {"adapter": "sms/../x", "contact_id": "nobody", "message_id": "m-7", "text": "hi"},
    )  # no name fit for a topic: the refusal of its bad name goes to errors/unknown
    second = await adapter.expect(lambda t, p: _error(t, p) and p is not problem)
    assert second["topic"].endswith("/in/messages")
    assert adapter.topics.errors("unknown") in {t for t, p in adapter.seen if p is second}


async def _held_chat(api: TestClient, adapter: Adapter, external_id: str) -> str:
    await _available_agent(api)
    await adapter.publish(Inbound.CONTACTS, _contact(external_id))
    contact_id = str((await adapter.expect(_event("queued")))["contact_id"])
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    return contact_id


async def test_a_customers_message_sent_twice_is_added_once(
    api: TestClient, adapter: Adapter
) -> None:
    contact_id = await _held_chat(api, adapter, "chat-4")
    by_external = {
        "channel": "chat",
        "external_id": "chat-4",
        "message_id": "wa-1",
        "text": "hello",
    }
    by_id = {"contact_id": contact_id, "message_id": "wa-2", "text": "anyone?"}
    for payload in (by_external, by_external, by_id, by_id):
        await adapter.publish(Inbound.MESSAGES, payload)
    await adapter.expect(
        lambda t, p: (
            p.get("event") == "message"
            and len([q for _, q in adapter.seen if q.get("event") == "message"]) >= 2
        )
    )
    await adapter.publish(Inbound.MESSAGES, {**by_id, "message_id": "wa-3", "text": "last"})
    await adapter.expect(
        lambda t, p: (
            p.get("event") == "message"
            and len([q for _, q in adapter.seen if q.get("event") == "message"]) >= 3
        )
    )
    seen = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
    assert [m["text"] for m in seen] == ["hello", "anyone?", "last"]
    assert not [p for t, p in adapter.seen if _error(t, p)]


async def test_an_agents_message_goes_out_and_its_receipts_move_it_forward_only(
    api: TestClient, adapter: Adapter, tenant: str
) -> None:
    contact_id = await _held_chat(api, adapter, "chat-5")
    ctx = api.server.app[SERVICES].ctx
    posted = await MessageRepository(ctx).post(
        contact_id, "agent", "your refund is on its way", "ann"
    )
    out = await adapter.expect(lambda t, p: t == adapter.topics.outbound_messages("chat"))
    assert out == {
        "contact_id": contact_id,
        "message_id": posted.message_id,
        "channel": "chat",
        "external_id": "chat-5",
        "agent_id": "ann",
        "text": "your refund is on its way",
        "at": out["at"],
    }
    receipt = {"contact_id": contact_id, "message_id": posted.message_id}
    for state in ("delivered", "sent", "failed"):  # a late "sent" and a "failed" change nothing
        await adapter.publish(Inbound.RECEIPTS, {**receipt, "state": state})
    await adapter.publish(Inbound.RECEIPTS, {**receipt, "state": "read"})
    await adapter.expect(lambda t, p: p.get("event") == "delivery" and p["state"] == "read")
    deliveries = [p["state"] for _, p in adapter.seen if p.get("event") == "delivery"]
    assert deliveries == ["delivered", "read"]
    messages = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
    assert messages[-1]["delivery"] == "read"
    assert await ctx.redis.xlen(ctx.keys.outbound("chat")) == 0  # handed on: not kept
    agent_view = await api.get(
        f"/v1/contacts/{contact_id}/messages", headers=bearer(Role.AGENT, "ann", tenant)
    )
    assert (await agent_view.json())[-1]["delivery"] == "read"


async def test_a_failed_delivery_says_why(api: TestClient, adapter: Adapter) -> None:
    contact_id = await _held_chat(api, adapter, "chat-6")
    ctx = api.server.app[SERVICES].ctx
    posted = await MessageRepository(ctx).post(contact_id, "agent", "hello?", "ann")
    failed = {"contact_id": contact_id, "message_id": posted.message_id, "state": "failed",
              "reason": "the customer blocked the number"}  # fmt: skip
    await adapter.publish(Inbound.RECEIPTS, failed)
    event = await adapter.expect(_event("delivery", contact_id))
    assert event["state"] == "failed" and "reason" not in event  # no provider's words in events
    messages = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
    assert (messages[-1]["delivery"], messages[-1]["delivery_reason"]) == (
        "failed", "the customer blocked the number"
    )  # fmt: skip


async def test_waiting_contacts_are_told_their_place(api: TestClient, adapter: Adapter) -> None:
    for external_id in ("chat-7", "chat-8"):
        await adapter.publish(Inbound.CONTACTS, _contact(external_id))
    first = await adapter.expect(lambda t, p: p.get("event") == "position" and p["position"] == 1)
    second = await adapter.expect(lambda t, p: p.get("event") == "position" and p["position"] == 2)
    assert first["queue"] == second["queue"] == "billing"
    assert first["ewt_seconds"] is None  # nobody staffs billing: no estimate to give
    await _available_agent(api)
    await adapter.expect(
        lambda t, p: p.get("event") == "position" and p["position"] == 2 and p["ewt_seconds"]
    )
