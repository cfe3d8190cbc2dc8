"""A disposition is one of the queue's wrap-up codes: free text belongs in the notes."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump

RULES = RoutingConfig.model_validate(
    {
        "queues": {
            "billing": {"channels": ["chat"]},  # the top-level list
            "sales": {"channels": ["voice"], "wrap_up_codes": ["sale", "no_sale"]},
        }
    }
)


async def connected(api: TestClient, channel: str, queue: str) -> str:
    """A contact of `queue` connected to agent ann; its id."""
    agent = {"name": "Ann", "skills": {}, "queues": [queue]}
    assert (await api.put("/v1/agents/ann", json=agent)).status in (200, 201)
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    contact = {"channel": channel, "external_id": f"{queue}-1", "queue": queue}
    created = await (await api.post("/v1/contacts", json=contact)).json()
    (offer,) = await Router(api.app[SERVICES].ctx).route_once()
    assert (await api.post(f"/v1/offers/{offer.offer_id}/accept", json={"agent_id": "ann"})).ok
    return str(created["id"])


async def complete(api: TestClient, contact_id: str, disposition: str) -> Any:
    body = {"agent_id": "ann", "disposition": disposition, "notes": "asked about the tariff"}
    response = await api.post(f"/v1/contacts/{contact_id}/complete", json=body)
    return response.status, await response.json()


async def test_a_free_text_disposition_is_refused_naming_the_codes(
    make_api: MakeApi, redis: Redis
) -> None:
    api = await make_api(RULES)
    contact_id = await connected(api, "chat", "billing")
    before = await dump(redis)
    status, problem = await complete(api, contact_id, "Customer Jo Bloggs was happy")
    assert status == 422
    assert problem["errors"][0]["field"] == "disposition"
    assert problem["allowed"] == ["resolved", "follow_up", "no_answer", "transferred", "other"]
    assert await dump(redis) == before
    status, done = await complete(api, contact_id, "follow_up")
    assert (status, done["disposition"]) == (200, "follow_up")


async def test_a_queue_with_its_own_codes_takes_only_those(make_api: MakeApi) -> None:
    api = await make_api(RULES)
    contact_id = await connected(api, "voice", "sales")
    status, problem = await complete(api, contact_id, "resolved")
    assert (status, problem["allowed"]) == (422, ["sale", "no_sale"])
    status, done = await complete(api, contact_id, "no_sale")
    assert (status, done["state"], done["disposition"]) == (200, "completed", "no_sale")
