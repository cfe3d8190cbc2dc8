"""An agent who rejects a contact is passed over for the queue's reject cooldown, while
anyone else can take it; with nobody else, the contact may ring for that agent again."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.router.service import Router
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository
from tests.helpers import TEST_CONFIG, MakeApi

# support is most-skilled: ann (tech 9) ranks before bob (tech 5) for every contact
CHAT = {"channel": "chat", "external_id": "chat-1", "queue": "support", "skills": {"tech": 1}}


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(TEST_CONFIG)
    for agent_id, level in (("ann", 9), ("bob", 5)):
        body = {"name": agent_id, "skills": {"tech": level}, "queues": ["support"]}
        assert (await api.put(f"/v1/agents/{agent_id}", json=body)).status == 201
        await api.put(f"/v1/agents/{agent_id}/presence", json={"presence": "available"})
    return api


async def offered(api: TestClient, ctx: StoreContext, contact_id: str) -> dict[str, Any]:
    """Run one routing round; the contact, which it must have offered."""
    await Router(ctx).route_once()
    contact: dict[str, Any] = await (await api.get(f"/v1/contacts/{contact_id}")).json()
    assert contact["state"] == "offered"
    return contact


async def reject(api: TestClient, contact: dict[str, Any]) -> None:
    answer = await api.post(
        f"/v1/offers/{contact['offer_id']}/reject", json={"agent_id": contact["agent_id"]}
    )
    assert answer.status == 200


async def candidates(api: TestClient, contact_id: str) -> dict[str, dict[str, Any]]:
    explained = await (await api.get(f"/v1/contacts/{contact_id}/explain")).json()
    return {row["agent"]: row for row in explained["candidates"]}


async def test_a_rejected_contact_goes_to_the_other_eligible_agent_next(
    api: TestClient, ctx: StoreContext
) -> None:
    contact = await (await api.post("/v1/contacts", json=CHAT)).json()
    first = await offered(api, ctx, contact["id"])
    assert first["agent_id"] == "ann"
    await reject(api, first)
    rows = await candidates(api, contact["id"])
    assert rows["ann"]["eligible"] is False and rows["ann"]["reason"] == "rejected_recently"
    assert rows["bob"]["rank"] == 1
    assert (await offered(api, ctx, contact["id"]))["agent_id"] == "bob"


async def test_with_nobody_else_free_the_rejecting_agent_is_offered_it_again(
    api: TestClient, ctx: StoreContext
) -> None:
    await api.put("/v1/agents/bob/presence", json={"presence": "away"})
    contact = await (await api.post("/v1/contacts", json=CHAT)).json()
    await reject(api, await offered(api, ctx, contact["id"]))
    ann = (await candidates(api, contact["id"]))["ann"]
    assert (ann["eligible"], ann["reason"], ann["rank"]) == (True, "rejected_recently", 1)
    assert (await offered(api, ctx, contact["id"]))["agent_id"] == "ann"


async def test_the_cooldown_ends_for_each_agent_after_reject_cooldown_seconds(
    api: TestClient, ctx: StoreContext, clock: ManualClock
) -> None:
    contact = await (await api.post("/v1/contacts", json=CHAT)).json()
    await reject(api, await offered(api, ctx, contact["id"]))  # ann, at t
    clock.advance(59.999)  # the default cooldown is 60 s
    by_bob = await offered(api, ctx, contact["id"])
    assert by_bob["agent_id"] == "bob"
    await reject(api, by_bob)  # bob, at t + 59.999 s
    clock.advance(0.001)
    assert (await offered(api, ctx, contact["id"]))["agent_id"] == "ann"


async def test_a_ring_out_is_not_a_reject(
    api: TestClient, ctx: StoreContext, clock: ManualClock
) -> None:
    contact = await (await api.post("/v1/contacts", json=CHAT)).json()
    await offered(api, ctx, contact["id"])
    clock.advance(20)  # the offer rings out
    assert await OfferRepository(ctx).expire_due() == 1
    again = await offered(api, ctx, contact["id"])
    assert again["agent_id"] == "ann"  # missed offers count towards "no answer" instead
    await reject(api, again)
    assert (await offered(api, ctx, contact["id"]))["agent_id"] == "bob"
