"""The public web-chat entry point as an attacker uses it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.chat_tokens import user_hash
from ccaas.domain.roles import Role
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer

RULES = RoutingConfig.model_validate(
    {"queues": {"web": {"channels": ["chat", "voice"], "expected_handle_seconds": 120}},
     "classification": [{"name": "all", "queue": "web"}]}
)  # fmt: skip
SECRET = "the-site-identity-secret"
ADMIN = bearer(Role.ADMIN, "test-admin")


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(RULES, chat_identity_secret=SECRET, as_role=None)


async def _customer_of(api: TestClient, contact_id: str) -> str:
    ctx = api.server.app[SERVICES].ctx
    return str(await ctx.redis.hget(ctx.keys.contact(contact_id), "customer_id") or "")


async def test_a_signed_in_user_cannot_claim_another_persons_email(api: TestClient) -> None:
    """Only user_id is signed by the site; email rides along unsigned from the browser. A
    user of the site (their own valid hash) who types the victim's email must not land on the
    victim's customer (and see/leak their history, rename them)."""
    victim = await api.post(
        "/v1/contacts",
        json={"channel": "chat", "external_id": "old-1",
              "customer": {"email": "victim@example.com", "name": "Victoria"}},
        headers=ADMIN,
    )  # fmt: skip
    assert victim.status in (200, 201), await victim.text()
    victim_customer = await _customer_of(api, (await victim.json())["id"])
    assert victim_customer
    answer = await api.post(
        "/v1/chat/conversations",
        json={"text": "hi", "user_id": "mallory", "user_hash": user_hash(SECRET, "mallory"),
              "email": "victim@example.com", "name": "Mallory"},
    )  # fmt: skip
    assert answer.status == 201
    started: dict[str, Any] = await answer.json()
    attacker_customer = await _customer_of(api, started["conversation_id"])
    ctx = api.server.app[SERVICES].ctx
    victim_name = await ctx.redis.hget(ctx.keys.customer(victim_customer), "name")
    assert attacker_customer != victim_customer, (
        "the attacker's chat joined the victim's customer (history shown to the agent); "
        f"the victim's name is now {victim_name!r}"
    )


async def test_one_browser_cannot_fill_the_queue(api: TestClient) -> None:
    """POST /v1/chat/conversations is public and unauthenticated: one visitor id starting
    chats in a loop makes a new waiting contact each time (the queue fills, other channels'
    customers in the queue are pushed back)."""
    for _ in range(25):
        answer = await api.post(
            "/v1/chat/conversations", json={"text": "spam", "visitor_id": "attacker-visitor"}
        )
        if answer.status != 201:
            break
    ctx = api.server.app[SERVICES].ctx
    waiting = await ctx.redis.zcard(ctx.keys.queue_waiting("web"))
    assert waiting <= 3, f"one visitor has {waiting} contacts waiting at once"


async def _snapshot(api: TestClient, token: str) -> dict[str, Any]:
    socket = await api.ws_connect("/v1/chat/ws", params={"token": token})
    try:
        frame = await socket.receive_json(timeout=10)
        assert frame["type"] == "snapshot"
        return dict(frame)
    finally:
        await socket.close()


async def test_a_system_note_is_not_shown_to_the_customer_on_reload(api: TestClient) -> None:
    """A system note (from: system, an adapter's or admin's) is kept from the customer's live
    frames (chat_hub._frames), but the snapshot a reload gets shows it to the customer."""
    started = await api.post(
        "/v1/chat/conversations", json={"text": "hello", "visitor_id": "v-12345678"}
    )
    token = (await started.json())["token"]
    contact_id = (await started.json())["conversation_id"]
    note = await api.post(
        f"/v1/contacts/{contact_id}/messages",
        json={"from": "system", "text": "internal: fraud suspected, do not refund"},
        headers=ADMIN,
    )
    assert note.status in (200, 201), await note.text()
    texts = [m["text"] for m in (await _snapshot(api, token))["messages"]]
    assert not any("fraud" in t for t in texts), texts


async def test_a_reload_shows_the_newest_messages_of_a_long_chat(api: TestClient) -> None:
    """The snapshot reads the first page (100) of the conversation, oldest first: after a
    long chat a reload shows the beginning and never the last messages."""
    started = await (await api.post("/v1/chat/conversations", json={"text": "m-0"})).json()
    socket = await api.ws_connect("/v1/chat/ws", params={"token": started["token"]})
    await socket.receive_json(timeout=10)
    for n in range(1, 106):
        await socket.send_json({"type": "message", "id": f"id-{n}", "text": f"m-{n}"})
    acks = 0
    while acks < 105:
        if (await socket.receive_json(timeout=10))["type"] == "ack":
            acks += 1
    await socket.close()
    texts = [m["text"] for m in (await _snapshot(api, started["token"]))["messages"]]
    assert texts[-1] == "m-105", f"the reload shows {len(texts)} messages ending {texts[-1]!r}"
