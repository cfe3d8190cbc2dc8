"""WhatsApp from Meta's side: signed webhooks make one contact per conversation and its
messages (each wamid once), statuses mark the agent's messages, agents' messages go out
through the Cloud API (a stand-in on loopback) and the 24-hour window is kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.errors import Conflict
from ccaas.router.service import Router
from ccaas.runtime.engine import WhatsAppOptions
from ccaas.store.messages import MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.meta_graph import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WEBHOOK,
    GraphApi,
    deliver,
    start_graph,
    status_update,
    text_message,
)

RULES = RoutingConfig.model_validate(
    {"queues": {"social_care": {"channels": ["social", "chat"]}},
     "classification": [{"name": "all", "queue": "social_care"}]}
)  # fmt: skip


@pytest.fixture
async def graph() -> AsyncIterator[GraphApi]:
    found, server = await start_graph()
    yield found
    await server.close()


@pytest.fixture
async def api(make_api: MakeApi, graph: GraphApi) -> TestClient:
    options = WhatsAppOptions(
        APP_SECRET, VERIFY_TOKEN, graph.url, PHONE_NUMBER_ID, ACCESS_TOKEN, chat_gap_seconds=0.0
    )
    return await make_api(RULES, whatsapp=options)


async def _contact_for(api: TestClient, wa_id: str = "447911123456") -> dict[str, Any]:
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.conversations, f"whatsapp:{wa_id}")
    assert contact_id, "no conversation for that WhatsApp id"
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def _texts(api: TestClient, contact_id: str) -> list[str]:
    messages = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
    return [m["text"] for m in messages]


async def test_meta_checks_the_subscription_with_the_verify_token(api: TestClient) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = await api.get(WEBHOOK, params=query)
    assert answer.status == 200 and await answer.text() == "1158201444"
    wrong = await api.get(WEBHOOK, params={**query, "hub.verify_token": "guess"})
    assert wrong.status == 401


async def test_a_signed_message_makes_a_contact_and_its_duplicate_does_nothing(
    api: TestClient,
) -> None:
    first = text_message("wamid.A1", "Hi, my router is down", name="Jo Bloggs")
    assert (await deliver(api, first)).status == 200
    contact = await _contact_for(api)
    assert (contact["channel"], contact["queue"], contact["state"]) == (
        "social",
        "social_care",
        "queued",
    )
    assert contact["attributes"]["provider"] == "whatsapp"
    customer = await (await api.get(f"/v1/customers/{contact['customer_id']}")).json()
    assert {"kind": "phone", "value": "+447911123456"} in customer["identities"]
    assert customer["name"] == "Jo Bloggs"
    redis = api.server.app[SERVICES].ctx.redis
    before = await dump(redis)
    assert (await deliver(api, first)).status == 200  # Meta sent it again
    assert await dump(redis) == before
    assert (await deliver(api, text_message("wamid.A2", "It blinks red"))).status == 200
    assert await _texts(api, contact["id"]) == ["Hi, my router is down", "It blinks red"]
    assert (await _contact_for(api))["id"] == contact["id"]


async def test_a_bad_signature_gets_401_and_stores_nothing(api: TestClient) -> None:
    redis = api.server.app[SERVICES].ctx.redis
    await api.get("/healthz")
    before = await dump(redis)
    forged = await deliver(api, text_message("wamid.B1", "hi"), secret="not-the-app-secret")
    assert forged.status == 401
    unsigned = await api.post(WEBHOOK, json=text_message("wamid.B1", "hi"))
    assert unsigned.status == 401
    assert await dump(redis) == before
    bad_shape = await deliver(api, {"object": "whatsapp_business_account", "entry": "x"})
    assert bad_shape.status == 422 and (await bad_shape.json())["errors"][0]["field"] == "entry"


async def _held(api: TestClient) -> dict[str, Any]:
    assert (await deliver(api, text_message("wamid.C1", "Hello?"))).status == 200
    contact = await _contact_for(api)
    agent = {"name": "Ann", "queues": ["social_care"], "capacity": {"social": 2}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact['id']}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    return contact


async def _delivery(api: TestClient, contact_id: str, wanted: str) -> dict[str, Any]:
    for _ in range(200):
        messages = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
        if messages[-1].get("delivery") == wanted:
            return dict(messages[-1])
        await asyncio.sleep(0.05)
    raise AssertionError(f"the message never became {wanted}: {messages[-1]}")


async def test_the_agents_message_goes_out_and_a_status_marks_it_delivered(
    api: TestClient, graph: GraphApi
) -> None:
    contact = await _held(api)
    ctx = api.server.app[SERVICES].ctx
    posted = await MessageRepository(ctx).post(contact["id"], "agent", "Try restarting it", "ann")
    await _delivery(api, contact["id"], "sent")
    (sent,) = graph.sent
    assert sent["to"] == "447911123456" and sent["text"]["body"] == "Try restarting it"
    assert graph.headers[0]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert graph.headers[0]["Idempotency-Key"] == posted.message_id
    ours = sent["biz_opaque_callback_data"]
    for state in ("delivered", "sent"):  # a late "sent" does not move it back
        answer = await deliver(api, status_update("wamid.out1", state, ours))
        assert answer.status == 200
    assert (await _delivery(api, contact["id"], "delivered"))["id"] == posted.message_id
    assert (await deliver(api, status_update("wamid.out1", "read", ours))).status == 200
    await _delivery(api, contact["id"], "read")


async def test_a_message_outside_the_24_hour_window_is_refused_with_its_reason(
    api: TestClient, clock: ManualClock, graph: GraphApi
) -> None:
    contact = await _held(api)
    clock.advance(25 * 3600)
    repo = MessageRepository(api.server.app[SERVICES].ctx)
    with pytest.raises(Conflict) as refused:
        await repo.post(contact["id"], "agent", "Are you still there?", "ann")
    assert refused.value.fields["reason"] == "reply_window_closed"
    assert "24 hours" in refused.value.detail
    assert graph.sent == []
    assert (await deliver(api, text_message("wamid.C2", "yes!"))).status == 200  # it reopens
    await repo.post(contact["id"], "agent", "Great", "ann")
    await _delivery(api, contact["id"], "sent")


async def test_the_api_busy_is_tried_again_and_a_refusal_says_why(
    api: TestClient, graph: GraphApi
) -> None:
    contact = await _held(api)
    repo = MessageRepository(api.server.app[SERVICES].ctx)
    graph.answers = [503]
    await repo.post(contact["id"], "agent", "First", "ann")
    await _delivery(api, contact["id"], "sent")
    assert [m["text"]["body"] for m in graph.sent] == ["First"]  # once, after the retry
    graph.answers = [400]
    await repo.post(contact["id"], "agent", "Second", "ann")
    failed = await _delivery(api, contact["id"], "failed")
    assert "Recipient phone number not in allowed list" in failed["delivery_reason"]
    failed_status = status_update(
        "wamid.out1", "failed", f"{contact['id']} {failed['id']}",
        errors=[{"code": 131047, "title": "Re-engagement message"}],
    )  # fmt: skip
    assert (await deliver(api, failed_status)).status == 200
