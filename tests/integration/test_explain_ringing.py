"""Explain while a contact rings: the agent it rings for first, then the others ranked as
the router would offer it next; once connected, routing is over and nobody is listed."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.router.service import Router
from ccaas.store.context import StoreContext
from tests.helpers import TEST_CONFIG, MakeApi

# billing takes voice, and an agent holds one call at a time
CALL = {"channel": "voice", "external_id": "call-1", "queue": "billing"}


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(TEST_CONFIG)
    for agent_id in ("ann", "bob"):
        body = {"name": agent_id, "queues": ["billing"]}
        assert (await api.put(f"/v1/agents/{agent_id}", json=body)).status == 201
        await api.put(f"/v1/agents/{agent_id}/presence", json={"presence": "available"})
    return api


async def explained(api: TestClient, contact_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = await (await api.get(f"/v1/contacts/{contact_id}/explain")).json()
    return answer


async def test_a_ringing_contact_shows_its_agent_then_who_would_be_next(
    api: TestClient, ctx: StoreContext
) -> None:
    await api.put("/v1/agents/cy", json={"name": "cy", "queues": ["sales"]})
    await api.put("/v1/agents/cy/presence", json={"presence": "available"})
    contact = await (await api.post("/v1/contacts", json=CALL)).json()
    await Router(ctx).route_once()
    ringing = await explained(api, contact["id"])
    assert ringing["state"] == "offered"
    offered_to = ringing["agent_id"]
    other = "bob" if offered_to == "ann" else "ann"
    first, second = ringing["candidates"]  # cy does not serve billing
    assert (first["agent"], first["offered"], "rank" in first) == (offered_to, True, False)
    assert (second["agent"], second["eligible"], second["rank"]) == (other, True, 1)


async def test_a_connected_contact_lists_no_candidates(api: TestClient, ctx: StoreContext) -> None:
    contact = await (await api.post("/v1/contacts", json=CALL)).json()
    await Router(ctx).route_once()
    offered = await (await api.get(f"/v1/contacts/{contact['id']}")).json()
    accept = {"agent_id": offered["agent_id"]}
    assert (await api.post(f"/v1/offers/{offered['offer_id']}/accept", json=accept)).status == 200
    connected = await explained(api, contact["id"])
    assert (connected["state"], connected["candidates"]) == ("connected", [])
    assert connected["agent_id"] == offered["agent_id"]
