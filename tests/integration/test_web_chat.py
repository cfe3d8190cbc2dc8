"""Web chat from the customer's side: start a conversation, hear the place while waiting,
the agent's name once connected, messages both ways, and closing it; tokens that are not
the conversation's are refused, and a site's user is believed only with its signature."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from ccaas.domain.chat_tokens import user_hash
from ccaas.domain.clock import ManualClock
from ccaas.domain.roles import Role
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.store.messages import MessageRepository
from ccaas.web.chat_hub import PLACE_SECONDS
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer

RULES = RoutingConfig.model_validate(
    {"queues": {"web": {"channels": ["chat"], "expected_handle_seconds": 120}},
     "classification": [{"name": "all", "queue": "web"}]}
)  # fmt: skip
SECRET = "the-site-identity-secret"


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(RULES, chat_identity_secret=SECRET, as_role=None)


async def _start(api: TestClient, **body: Any) -> dict[str, Any]:
    answer = await api.post("/v1/chat/conversations", json={"text": "hello", **body})
    assert answer.status == 201, await answer.text()
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    return dict(await answer.json())


async def _contact(api: TestClient, started: dict[str, Any]) -> dict[str, Any]:
    path = f"/v1/contacts/{started['conversation_id']}"
    return dict(await (await api.get(path, headers=bearer(Role.ADMIN, "test-admin"))).json())


async def _frame(socket: ClientWebSocketResponse, kind: str, seconds: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            frame = await socket.receive_json()
            if frame["type"] == kind:
                return dict(frame)


async def test_a_customer_waits_hearing_the_place_then_chats_with_the_agent(
    api: TestClient, clock: ManualClock
) -> None:
    admin = {"Authorization": api.session.headers.get("Authorization", "")}
    from ccaas.domain.roles import Role
    from tests.helpers import bearer

    admin = bearer(Role.ADMIN, "test-admin")
    first = await _start(api)
    clock.advance(1)
    second = await _start(api, name="Jo", email="jo@example.com")
    socket = await api.ws_connect("/v1/chat/ws", params={"token": second["token"]})
    snapshot = await _frame(socket, "snapshot")
    assert snapshot["state"] == "queued" and snapshot["position"] == 2
    assert [m["text"] for m in snapshot["messages"]] == ["hello"]
    agent = {"name": "Ann Smith", "queues": ["web"], "capacity": {"chat": 1}}
    assert (await api.put("/v1/agents/ann", json=agent, headers=admin)).status == 201
    await api.put("/v1/agents/ann/presence", json={"presence": "available"}, headers=admin)
    contact = await (
        await api.get(f"/v1/contacts/{second['conversation_id']}", headers=admin)
    ).json()
    assert contact["attributes"]["given_email"] == "jo@example.com"  # shown, not trusted
    assert "customer_id" not in contact or contact.get("customer_id") != "jo@example.com"
    # the first one is taken: the second is next (its place is pushed within a couple of s)
    await Router(api.server.app[SERVICES].ctx).route_once()
    place = await _frame(socket, "position", PLACE_SECONDS * 3)
    assert place["position"] == 1 and place["ewt_seconds"] is not None
    assert first["conversation_id"] != second["conversation_id"]
    # ann finishes the first and takes the second
    first_contact = await (
        await api.get(f"/v1/contacts/{first['conversation_id']}", headers=admin)
    ).json()
    await api.post(
        f"/v1/offers/{first_contact['offer_id']}/accept", json={"agent_id": "ann"}, headers=admin
    )
    await api.post(
        f"/v1/contacts/{first['conversation_id']}/complete",
        json={"agent_id": "ann", "disposition": "resolved"}, headers=admin,
    )  # fmt: skip
    await Router(api.server.app[SERVICES].ctx).route_once()
    offered = await (
        await api.get(f"/v1/contacts/{second['conversation_id']}", headers=admin)
    ).json()
    accepted = await api.post(
        f"/v1/offers/{offered['offer_id']}/accept", json={"agent_id": "ann"}, headers=admin
    )
    assert accepted.status == 200
    connected = await _frame(socket, "connected")
    assert connected["agent"] == {"name": "Ann Smith"}
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(second["conversation_id"], "agent", "Hi Jo, Ann here", "ann")
    message = await _frame(socket, "message")
    assert message["message"]["text"] == "Hi Jo, Ann here" and message["message"]["from"] == "agent"
    assert "agent_id" not in message["message"]
    await socket.send_json({"type": "message", "id": "m-1", "text": "my bill is wrong"})
    ack = await _frame(socket, "ack")
    await socket.send_json({"type": "message", "id": "m-1", "text": "my bill is wrong"})  # resent
    assert (await _frame(socket, "ack"))["message_id"] == ack["message_id"]
    texts = [m["text"] for m in await MessageRepository(ctx).read(second["conversation_id"])]
    assert texts == ["hello", "Hi Jo, Ann here", "my bill is wrong"]
    delivered = await MessageRepository(ctx).read(second["conversation_id"])
    assert delivered[1]["delivery"] in ("delivered", "read")
    await socket.send_json({"type": "close", "id": "bye"})
    ended = await _frame(socket, "ended")
    assert ended["reason"] == "closed"
    held = await _contact(api, second)
    assert held["state"] == "connected" and held["customer_left_at"]  # Ann is told, completes it


async def test_a_token_that_is_not_the_conversations_is_refused(api: TestClient) -> None:
    started = await _start(api)
    contact_id, expires, _ = started["token"].split(".")
    for token in [
        "",
        "nonsense",
        f"{contact_id}.{expires}.AAAA",
        f"other.{expires}.{started['token'].split('.')[2]}",
    ]:
        answer = await api.get("/v1/chat/ws", params={"token": token})
        assert answer.status == 401, token


async def test_a_sites_user_is_believed_only_with_its_signature(api: TestClient) -> None:
    forged = await api.post(
        "/v1/chat/conversations", json={"user_id": "u-42", "user_hash": "0" * 64, "text": "hi"}
    )
    assert forged.status == 422 and (await forged.json())["errors"][0]["field"] == "user_hash"
    signed = await _start(
        api, user_id="u-42", user_hash=user_hash(SECRET, "u-42"), email="jo@example.com"
    )
    ctx = api.server.app[SERVICES].ctx
    customer_id = await ctx.redis.hget(ctx.keys.contact(signed["conversation_id"]), "customer_id")
    identities = await ctx.redis.smembers(ctx.keys.customer_identities(customer_id))
    assert set(identities) == {"login:u-42"}  # the hash signs the id, not what was typed
    contact = await ctx.redis.hget(ctx.keys.contact(signed["conversation_id"]), "attributes")
    assert "jo@example.com" in str(contact)  # shown to the agent as given_email
