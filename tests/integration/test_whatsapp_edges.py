"""WhatsApp webhooks that Meta signed but that are odd, concurrent or late."""

from __future__ import annotations

import asyncio
import copy
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
from tests.helpers import MakeApi
from tests.meta_graph import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    GraphApi,
    deliver,
    start_graph,
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


def _odd(change: str) -> dict[str, Any]:
    body = copy.deepcopy(text_message("wamid.odd", "hi"))
    value = body["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    if change == "text is a string":
        message["text"] = "hi"
    elif change == "interactive is a string":
        message.update(type="interactive", interactive="yes")
        del message["text"]
    elif change == "button_reply is a string":
        message.update(type="interactive", interactive={"type": "button_reply",
                                                        "button_reply": "yes"})  # fmt: skip
        del message["text"]
    elif change == "button is a string":
        message.update(type="button", button="yes")
        del message["text"]
    elif change == "profile is a string":
        value["contacts"][0]["profile"] = "Jo"
    elif change == "contacts is a number":
        value["contacts"] = 7
    elif change == "entry item is a string":
        body["entry"] = ["x"]
    return body


@pytest.mark.parametrize(
    "change",
    ["text is a string", "interactive is a string", "button_reply is a string",
     "button is a string", "profile is a string", "contacts is a number",
     "entry item is a string"],
)  # fmt: skip
async def test_a_signed_body_of_an_odd_shape_is_422_not_500(api: TestClient, change: str) -> None:
    """The doc: a body not of the documented shape is 422 naming the field. A 500 makes Meta
    retry the webhook for days (and every other message in it with it)."""
    answer = await deliver(api, _odd(change))
    assert answer.status in (200, 422), f"{change}: {answer.status} {await answer.text()}"


async def test_two_first_messages_at_once_make_one_contact(api: TestClient) -> None:
    """Meta delivers webhooks concurrently; a customer's first two messages sent quickly
    must make one conversation, not two contacts ringing two agents."""
    await asyncio.gather(
        deliver(api, text_message("wamid.R1", "hello")),
        deliver(api, text_message("wamid.R2", "my router is down")),
    )
    ctx = api.server.app[SERVICES].ctx
    waiting = await ctx.redis.zrange(ctx.keys.queue_waiting("social_care"), 0, -1)
    assert len(waiting) == 1, f"one customer's two messages made {len(waiting)} contacts"


async def test_the_window_starts_at_the_customers_message_not_at_its_late_delivery(
    api: TestClient, clock: ManualClock, graph: GraphApi
) -> None:
    """Meta re-delivers webhooks it could not deliver for up to days. A message the customer
    wrote 25 hours ago (its timestamp) arriving now does not open WhatsApp's 24-hour window:
    the agent should be told at once, not have the message refused by WhatsApp (131047)."""
    written = clock.now_ms() // 1000 - 25 * 3600
    body = text_message("wamid.L1", "hello, from yesterday")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(written)
    assert (await deliver(api, body)).status == 200
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.conversations, "whatsapp:447911123456")
    agent = {"name": "Ann", "queues": ["social_care"], "capacity": {"social": 2}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    await Router(ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    with pytest.raises(Conflict):
        await MessageRepository(ctx).post(contact_id, "agent", "Sorry for the wait", "ann")


async def test_a_reaction_after_the_chat_ended_does_not_open_a_new_contact(
    api: TestClient, graph: GraphApi
) -> None:
    """The customer puts a thumbs-up on the agent's last message once the agent completed the
    chat: Meta sends it as a message of type "reaction" (no text). It is read as a message
    "[a reaction message]" and, the conversation being closed, starts a new contact that
    rings an agent for nothing."""
    ctx = api.server.app[SERVICES].ctx
    assert (await deliver(api, text_message("wamid.E1", "thanks, sorted"))).status == 200
    contact_id = await ctx.redis.hget(ctx.keys.conversations, "whatsapp:447911123456")
    agent = {"name": "Ann", "queues": ["social_care"], "capacity": {"social": 2}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    await Router(ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    done = await api.post(f"/v1/contacts/{contact_id}/complete",
                          json={"agent_id": "ann", "disposition": "resolved"})  # fmt: skip
    assert done.status == 200, await done.text()
    reaction = text_message("wamid.E2", "x")
    message = reaction["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update(type="reaction", reaction={"message_id": "wamid.out1", "emoji": "\U0001f44d"})
    assert (await deliver(api, reaction)).status == 200
    waiting = await ctx.redis.zrange(ctx.keys.queue_waiting("social_care"), 0, -1)
    texts = [
        (await (await api.get(f"/v1/contacts/{c}/messages")).json())[0]["text"] for c in waiting
    ]
    assert waiting == [], f"a reaction opened a new contact: {texts}"
