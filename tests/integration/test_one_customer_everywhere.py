"""One person who calls (Twilio), chats on the site where she is signed in (the widget's
API and websocket), emails (SMTP) and writes on WhatsApp is one customer with one timeline,
and the agent who takes each contact reads its conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.chat_tokens import user_hash
from ccaas.domain.clock import ManualClock
from ccaas.domain.roles import Role
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.runtime.engine import EmailOptions, WhatsAppOptions
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer
from tests.meta_graph import APP_SECRET, VERIFY_TOKEN, deliver, text_message
from tests.smtp_servers import Sink, customer_mail, relay_sink, send
from tests.twilio_caller import AUTH_TOKEN, BASE, PUBLIC_URL, Twilio, call

PHONE, EMAIL = "+442079460055", "jo@example.com"
IDENTITY_SECRET = "the-site-signs-its-users"
RULES = RoutingConfig.model_validate(
    {"queues": {"care": {"channels": ["voice", "chat", "email", "social"]}},
     "classification": [{"name": "all", "queue": "care"}]}
)  # fmt: skip


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, int]]:
    async with relay_sink() as found:
        yield found


async def _take(api: TestClient, contact_id: str) -> None:
    """Ann takes the contact, reads its conversation, and completes it."""
    await Router(api.server.app[SERVICES].ctx).route_once()
    contact = await (await api.get(f"/v1/contacts/{contact_id}")).json()
    assert contact["state"] == "offered", contact
    accepted = await api.post(f"/v1/offers/{contact['offer_id']}/accept", json={"agent_id": "ann"})
    assert accepted.status == 200


async def _done(api: TestClient, contact_id: str) -> None:
    done = await api.post(
        f"/v1/contacts/{contact_id}/complete", json={"agent_id": "ann", "disposition": "resolved"}
    )
    assert done.status == 200, await done.text()


async def test_voice_chat_email_and_whatsapp_are_one_customer_with_one_timeline(
    make_api: MakeApi, sink: tuple[Sink, int], clock: ManualClock
) -> None:
    api = await make_api(
        RULES,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        email=EmailOptions(relay_url=f"smtp://127.0.0.1:{sink[1]}", sender="support@acme.test"),
        whatsapp=WhatsAppOptions(APP_SECRET, VERIFY_TOKEN),
        chat_identity_secret=IDENTITY_SECRET,
    )
    ctx = api.server.app[SERVICES].ctx
    ann = bearer(Role.AGENT, "ann")
    agent = {"name": "Ann", "queues": ["care"], "voice_endpoint": "sip:ann@pbx.example.com"}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    ids: list[str] = []

    async def contact_of(channel: str, external_id: str) -> str:
        found = await ctx.redis.hget(ctx.keys.external_ids, f"{channel}:{external_id}")
        assert found, (channel, external_id)
        return str(found)

    # 1. a call
    twilio = Twilio(api, clock=clock)
    assert (await twilio.twiml(f"{BASE}/incoming", call("CA-JO", PHONE))).find(
        "Enqueue"
    ) is not None
    ids.append(await contact_of("voice", "CA-JO"))
    await _take(api, ids[-1])
    await _done(api, ids[-1])
    # 2. a web chat from the site, where Jo is signed in: the CRM linked her login to her
    # customer, and the site vouches for it (user_hash)
    first = await (await api.get(f"/v1/contacts/{ids[0]}")).json()
    linked = await api.post(
        f"/v1/customers/{first['customer_id']}/identities",
        json={
            "identities": [{"kind": "login", "value": "jo-42"}, {"kind": "email", "value": EMAIL}]
        },
    )
    assert linked.status == 200, await linked.text()
    started = await api.post(
        "/v1/chat/conversations",
        json={"user_id": "jo-42", "user_hash": user_hash(IDENTITY_SECRET, "jo-42")},
    )
    assert started.status == 201, await started.text()
    chat = await started.json()
    ids.append(chat["conversation_id"])
    socket = await api.ws_connect("/v1/chat/ws", params={"token": chat["token"]})
    assert (await socket.receive_json())["type"] == "snapshot"
    await socket.send_json({"type": "message", "id": "w-1", "text": "hello from the web"})
    assert (await socket.receive_json())["type"] in ("ack", "message")
    await socket.close()
    await _take(api, ids[-1])
    seen = await api.get(f"/v1/contacts/{ids[-1]}/messages", headers=ann)
    assert [m["text"] for m in await seen.json()] == ["hello from the web"]
    await _done(api, ids[-1])
    # 3. an email
    port = int((await (await api.get("/healthz")).json())["smtp"].rpartition(":")[2])
    mail = customer_mail("an email about it", message_id="<jo-1@example.com>", sender=EMAIL)
    assert (await send(port, mail)).startswith("250")
    ids.append(await contact_of("email", "<jo-1@example.com>"))
    await _take(api, ids[-1])
    seen = await api.get(f"/v1/contacts/{ids[-1]}/messages", headers=ann)
    assert [m["text"] for m in await seen.json()] == ["an email about it"]
    await _done(api, ids[-1])
    # 4. WhatsApp from the same number
    assert (
        await deliver(api, text_message("wamid.JO1", "and on WhatsApp", PHONE[1:]))
    ).status == 200
    ids.append(str(await ctx.redis.hget(ctx.keys.conversations, f"whatsapp:{PHONE[1:]}")))
    await _take(api, ids[-1])
    seen = await api.get(f"/v1/contacts/{ids[-1]}/messages", headers=ann)
    assert [m["text"] for m in await seen.json()] == ["and on WhatsApp"]
    # one customer, one timeline of the four contacts, which the agent may read
    customers = {
        (await (await api.get(f"/v1/contacts/{contact_id}")).json())["customer_id"]
        for contact_id in ids
    }
    assert len(customers) == 1, customers
    (customer_id,) = customers
    timeline = await api.get(f"/v1/customers/{customer_id}/timeline", headers=ann)
    assert timeline.status == 200
    items: list[dict[str, Any]] = (await timeline.json())["items"]
    assert sorted(item["contact_id"] for item in items) == sorted(ids)
    assert {item["channel"] for item in items} == {"voice", "chat", "email", "social"}
