"""An erased customer's contacts take no new personal data: completing works, notes are not
kept, and bodies are refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump

NOTES = "told Jo the PIN is 4321"


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api()
    agent = {"name": "Ann", "skills": {}, "queues": ["support"]}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    return api


async def offered(api: TestClient, external_id: str) -> tuple[dict[str, Any], str]:
    """A chat from Jo, ringing for ann: (the contact, its offer id)."""
    chat = {
        "channel": "chat",
        "external_id": external_id,
        "queue": "support",
        "customer": {"email": "jo@example.com", "name": "Jo"},
    }
    created = await api.post("/v1/contacts", json=chat)
    assert created.status == 201, await created.text()
    (offer,) = await Router(api.app[SERVICES].ctx).route_once()
    assert offer.offer_id
    return await created.json(), offer.offer_id


@pytest.mark.parametrize("erased_while", ["ringing", "connected"])
async def test_completing_an_erased_customers_contact_frees_the_agent_and_keeps_no_notes(
    api: TestClient, redis: Redis, erased_while: str
) -> None:
    contact, offer_id = await offered(api, f"chat-{erased_while}")
    ann = {"agent_id": "ann"}
    if erased_while == "connected":
        assert (await api.post(f"/v1/offers/{offer_id}/accept", json=ann)).status == 200
    assert (await api.delete(f"/v1/customers/{contact['customer_id']}")).status == 200
    if erased_while == "ringing":
        assert (await api.post(f"/v1/offers/{offer_id}/accept", json=ann)).status == 200
    done = await api.post(
        f"/v1/contacts/{contact['id']}/complete",
        json={**ann, "disposition": "resolved", "notes": NOTES},
    )
    assert done.status == 200, await done.text()
    answer = await done.json()
    assert (answer["state"], answer["notes_discarded"]) == ("wrap_up", True)
    assert (
        "notes" not in answer
        and "notes" not in await (await api.get(f"/v1/contacts/{contact['id']}")).json()
    )
    assert NOTES not in str(await dump(redis))  # neither on the contact nor in the events
    work = (await (await api.get("/v1/agents/ann")).json())["work"]
    assert [(w["contact_id"], w["state"]) for w in work] == [(contact["id"], "wrap_up")]
    retry = await api.post(
        f"/v1/contacts/{contact['id']}/complete",
        json={**ann, "disposition": "resolved", "notes": NOTES},
    )
    assert (retry.status, (await retry.json())["notes_discarded"]) == (200, True)


async def test_an_erased_customers_contact_takes_no_body(api: TestClient, redis: Redis) -> None:
    contact, _ = await offered(api, "chat-body")
    assert (await api.delete(f"/v1/customers/{contact['customer_id']}")).status == 200
    before = await dump(redis)
    put = await api.put(f"/v1/contacts/{contact['id']}/body?kind=email", data="Dear team, PIN 4321")
    assert put.status == 409
    problem = await put.json()
    assert problem["type"].endswith("/customer-erased") and problem["contact_id"] == contact["id"]
    assert await dump(redis) == before
    assert (await api.get(f"/v1/contacts/{contact['id']}/body")).status == 404
