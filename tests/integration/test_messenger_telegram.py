"""Messenger and Telegram from the provider's side: signed (or secret-carrying) webhooks make
one contact per conversation, each message once; the agent's reply goes out through the
provider's API (stand-ins on loopback) and Messenger's delivery and read events mark it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.runtime.engine import MessengerOptions, TelegramOptions
from ccaas.store.messages import MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.meta_graph import (
    APP_SECRET,
    VERIFY_TOKEN,
    BotApi,
    GraphApi,
    signed,
    start_bot_api,
    start_graph,
)

RULES = RoutingConfig.model_validate(
    {"queues": {"social_care": {"channels": ["social"]}},
     "classification": [{"name": "all", "queue": "social_care"}]}
)  # fmt: skip
MESSENGER = "/v1/channels/messenger/webhook"
TELEGRAM = "/v1/channels/telegram/webhook"
TG_SECRET = "tg-secret-token-123"
PSID = "6024587012345678"


@pytest.fixture
async def apis() -> AsyncIterator[tuple[GraphApi, BotApi]]:
    graph, graph_server = await start_graph()
    bot, bot_server = await start_bot_api()
    yield graph, bot
    await graph_server.close()
    await bot_server.close()


@pytest.fixture
async def api(make_api: MakeApi, apis: tuple[GraphApi, BotApi]) -> TestClient:
    graph, bot = apis
    return await make_api(
        RULES,
        messenger=MessengerOptions(APP_SECRET, VERIFY_TOKEN, graph.url, "1122334455", "page-tok"),
        telegram=TelegramOptions(TG_SECRET, bot.url, "123:bot-token"),
    )


def _messenger(*events: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "1122334455", "time": 1764626400000,
                                          "messaging": list(events)}]}  # fmt: skip


def _fb_message(mid: str, text: str) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": "1122334455"},
            "timestamp": 1764626400000, "message": {"mid": mid, "text": text}}  # fmt: skip


async def _post_messenger(api: TestClient, body: dict[str, Any]) -> Any:
    raw, headers = signed(body)
    return await api.post(MESSENGER, data=raw, headers=headers)


def _update(update_id: int, text: str, chat_id: int = 777001) -> dict[str, Any]:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1764626400, "text": text,
                        "chat": {"id": chat_id, "type": "private"},
                        "from": {"id": chat_id, "is_bot": False, "first_name": "Jo",
                                 "username": "jo_b"}}}  # fmt: skip


async def _contact(api: TestClient, route: str, address: str) -> dict[str, Any]:
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.conversations, f"{route}:{address}")
    assert contact_id
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def _held(api: TestClient, contact_id: str) -> None:
    agent = {"name": "Ann", "queues": ["social_care"], "capacity": {"social": 3}}
    await api.put("/v1/agents/ann", json=agent)
    await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200


async def _delivery(api: TestClient, contact_id: str, wanted: str) -> None:
    for _ in range(200):
        messages = await (await api.get(f"/v1/contacts/{contact_id}/messages")).json()
        if messages[-1].get("delivery") == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {wanted}: {messages[-1]}")


async def test_messenger_messages_make_one_contact_and_replies_are_marked(
    api: TestClient, apis: tuple[GraphApi, BotApi]
) -> None:
    graph, _ = apis
    assert (await _post_messenger(api, _messenger(_fb_message("m_1", "hi there")))).status == 200
    assert (await _post_messenger(api, _messenger(_fb_message("m_1", "hi there")))).status == 200
    assert (await _post_messenger(api, _messenger(_fb_message("m_2", "anyone?")))).status == 200
    contact = await _contact(api, "messenger", PSID)
    messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
    assert [m["text"] for m in messages] == ["hi there", "anyone?"]
    customer = await (await api.get(f"/v1/customers/{contact['customer_id']}")).json()
    assert {"kind": "handle", "value": f"messenger:{PSID}"} in customer["identities"]
    await _held(api, contact["id"])
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(contact["id"], "agent", "How can I help?", "ann")
    await _delivery(api, contact["id"], "sent")
    assert graph.sent[-1]["recipient"] == {"id": PSID}
    assert graph.headers[-1]["Authorization"] == "Bearer page-tok"
    delivered = {"sender": {"id": PSID}, "recipient": {"id": "1122334455"},
                 "delivery": {"mids": ["m_out1"], "watermark": 1764626460000}}  # fmt: skip
    assert (await _post_messenger(api, _messenger(delivered))).status == 200
    await _delivery(api, contact["id"], "delivered")
    read = {"sender": {"id": PSID}, "recipient": {"id": "1122334455"},
            "read": {"watermark": 9_999_999_999_999}}  # fmt: skip
    assert (await _post_messenger(api, _messenger(read))).status == 200
    await _delivery(api, contact["id"], "read")


async def test_a_bad_signature_or_secret_stores_nothing(api: TestClient) -> None:
    redis = api.server.app[SERVICES].ctx.redis
    await api.get("/healthz")
    before = await dump(redis)
    raw, headers = signed(_messenger(_fb_message("m_9", "x")), secret="wrong")
    assert (await api.post(MESSENGER, data=raw, headers=headers)).status == 401
    no_secret = await api.post(TELEGRAM, json=_update(1, "hi"))
    assert no_secret.status == 401
    wrong = await api.post(
        TELEGRAM, json=_update(1, "hi"), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
    )
    assert wrong.status == 401
    assert await dump(redis) == before


async def test_telegram_updates_make_one_contact_and_the_reply_goes_to_the_chat(
    api: TestClient, apis: tuple[GraphApi, BotApi]
) -> None:
    _, bot = apis
    secret = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    for update in (_update(10, "hello"), _update(10, "hello"), _update(11, "my order?")):
        assert (await api.post(TELEGRAM, json=update, headers=secret)).status == 200
    contact = await _contact(api, "telegram", "777001")
    messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
    assert [m["text"] for m in messages] == ["hello", "my order?"]
    assert contact["attributes"]["username"] == "jo_b"
    await _held(api, contact["id"])
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(contact["id"], "agent", "Checking now", "ann")
    await _delivery(api, contact["id"], "sent")
    assert bot.sent == [{"chat_id": 777001, "text": "Checking now"}]
    assert bot.tokens == ["123:bot-token"]
    bad = await api.post(TELEGRAM, json={"update_id": "x"}, headers=secret)
    assert bad.status == 422


@pytest.mark.parametrize(
    "event",
    [{"sender": "6024587012345678", "message": {"mid": "m_x", "text": "hi"}},
     {"sender": {"id": PSID}, "message": {"text": "no mid"}},
     {"sender": {"id": "not-digits"}, "message": {"mid": "m_y", "text": "hi"}}],
)  # fmt: skip
async def test_a_signed_messenger_event_of_an_odd_shape_is_422(
    api: TestClient, event: dict[str, Any]
) -> None:
    redis = api.server.app[SERVICES].ctx.redis
    await api.get("/healthz")
    before = await dump(redis)
    answer = await _post_messenger(api, _messenger(event))
    assert answer.status == 422, await answer.text()
    assert await dump(redis) == before


async def test_a_telegram_update_of_an_odd_shape_is_422(api: TestClient) -> None:
    secret = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    odd = {"update_id": 5, "message": {"chat": "777001", "from": {"id": 1}, "text": "hi"}}
    answer = await api.post(TELEGRAM, json=odd, headers=secret)
    assert answer.status == 422, await answer.text()
