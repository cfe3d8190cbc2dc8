"""The HTTP API over a real Redis: the contact and agent lifecycle, and refusals of bad input."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from ccaas.domain.clock import ManualClock
from ccaas.router.service import Router
from ccaas.store.context import StoreContext
from tests.helpers import TEST_CONFIG, MakeApi, dump

TENANT = "t1"


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG, tenant=TENANT, max_body_bytes=16 * 1024)


@pytest.fixture
def router(redis: Redis, clock: ManualClock) -> Router:
    return Router(StoreContext.create(redis, TENANT, TEST_CONFIG, clock))


CHAT = {"channel": "chat", "external_id": "chat-1", "queue": "billing", "skills": {"billing": 3}}


async def test_contact_and_agent_lifecycle_over_http(api: TestClient, router: Router) -> None:
    put = await api.put(
        "/v1/agents/ann", json={"name": "Ann", "skills": {"billing": 5}, "queues": ["billing"]}
    )
    assert put.status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200

    created = await api.post("/v1/contacts", json=CHAT)
    assert created.status == 201
    contact = await created.json()
    assert (
        contact["state"] == "queued" and contact["position"] == 1 and contact["queue"] == "billing"
    )

    again = await api.post("/v1/contacts", json=CHAT)
    assert again.status == 200
    assert (await again.json())["id"] == contact["id"]

    await router.route_once()
    agent = await (await api.get("/v1/agents/ann")).json()
    (offer,) = [w for w in agent["work"] if w["state"] == "offered"]
    assert offer["contact_id"] == contact["id"] and offer["offer_expires_at"] > 0

    ann = {"agent_id": "ann"}
    accepted = await api.post(f"/v1/offers/{offer['offer_id']}/accept", json=ann)
    assert (await accepted.json())["state"] == "connected"
    again = await api.post(f"/v1/offers/{offer['offer_id']}/accept", json=ann)  # a retry
    assert again.status == 200 and (await again.json())["state"] == "connected"
    other = await api.post(f"/v1/offers/{offer['offer_id']}/accept", json={"agent_id": "bob"})
    assert other.status == 409
    assert (await api.post(f"/v1/offers/{offer['offer_id']}/reject", json=ann)).status == 409

    done = await api.post(
        f"/v1/contacts/{contact['id']}/complete", json={**ann, "disposition": "resolved"}
    )
    body = await done.json()
    assert body["state"] == "completed" and body["disposition"] == "resolved"
    agent = await (await api.get("/v1/agents/ann")).json()
    assert agent["work"] == [] and agent["presence"] == "available"


async def test_rejected_offer_goes_back_to_its_place(
    api: TestClient, router: Router, clock: ManualClock
) -> None:
    await api.put(
        "/v1/agents/bob", json={"name": "Bob", "queues": ["billing"], "capacity": {"chat": 1}}
    )
    await api.put("/v1/agents/bob/presence", json={"presence": "available"})
    first = await (await api.post("/v1/contacts", json={**CHAT, "skills": {}})).json()
    clock.advance(5)
    second = await (
        await api.post("/v1/contacts", json={**CHAT, "external_id": "chat-2", "skills": {}})
    ).json()
    await router.route_once()
    offered = await (await api.get(f"/v1/contacts/{first['id']}")).json()
    assert offered["state"] == "offered"
    bob = {"agent_id": "bob"}
    assert (await api.post(f"/v1/offers/{offered['offer_id']}/reject", json=bob)).status == 200
    again = await api.post(f"/v1/offers/{offered['offer_id']}/reject", json=bob)  # a retry
    assert again.status == 200 and (await again.json())["state"] == "queued"
    back = await (await api.get(f"/v1/contacts/{first['id']}")).json()
    assert back["state"] == "queued" and back["position"] == 1
    assert (await (await api.get(f"/v1/contacts/{second['id']}")).json())["position"] == 2


async def test_abandon_and_queue_figures(api: TestClient, clock: ManualClock) -> None:
    contact = await (await api.post("/v1/contacts", json=CHAT)).json()
    clock.advance(12)
    queue = await (await api.get("/v1/queues/billing")).json()
    assert queue["waiting"] == 1 and queue["oldest_wait_seconds"] == 12
    gone = await api.delete(f"/v1/contacts/{contact['id']}")
    assert (await gone.json())["state"] == "abandoned"
    assert (await api.delete(f"/v1/contacts/{contact['id']}")).status == 409
    queues = await (await api.get("/v1/queues")).json()
    assert {q["name"]: q["waiting"] for q in queues} == {"billing": 0, "sales": 0, "support": 0}


BAD_CONTACTS = [
    ({**CHAT, "channel": "fax"}, 422, "channel"),
    ({**CHAT, "queue": "biling"}, 422, "queue"),
    ({**CHAT, "channel": "email"}, 422, "channel"),  # billing takes voice and chat only
    ({**CHAT, "priority": "high"}, 422, "priority"),
    ({**CHAT, "priority": 1000}, 422, "priority"),
    ({**CHAT, "skills": {"billing": 11}}, 422, "skills.billing"),
    ({**CHAT, "skills": {"billing": "3"}}, 422, "skills.billing"),
    ({**CHAT, "external_id": ""}, 422, "external_id"),
    ({**CHAT, "colour": "red"}, 422, "colour"),
    ({"channel": "chat", "queue": "billing"}, 422, "external_id"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_CONTACTS)
async def test_bad_contact_is_refused_and_changes_nothing(
    api: TestClient, redis: Redis, body: dict[str, Any], status: int, field: str
) -> None:
    await api.post("/v1/contacts", json={**CHAT, "external_id": "existing"})
    before = await dump(redis)
    response = await api.post("/v1/contacts", json=body)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert field in [error["field"] for error in problem["errors"]]
    assert await dump(redis) == before


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("post", "/v1/contacts", b"{not json", 400),
        ("post", "/v1/contacts", b"[1, 2]", 400),
        ("post", "/v1/contacts", b'{"channel": "chat\xff"}', 400),
        ("post", "/v1/contacts", b"[" * 5000 + b"]" * 5000, 400),
        ("post", "/v1/contacts", b'{"channel": "chat", "priority": NaN}', 422),
        (
            "post",
            "/v1/contacts",
            b'{"channel": "chat", "external_id": "' + b"x" * 20_000 + b'"}',
            413,
        ),
        ("put", "/v1/agents/zed", b'{"name": "Zed", "queues": ["nowhere"]}', 422),
        ("put", "/v1/agents/zed", b'{"name": "Zed", "capacity": {"chat": -1}}', 422),
        ("put", "/v1/agents/z%20ed", b'{"name": "Zed"}', 422),
        ("put", "/v1/agents/ann/presence", b'{"presence": "asleep"}', 422),
        ("put", "/v1/agents/nobody/presence", b'{"presence": "away"}', 404),
        ("post", "/v1/offers/nonsense/accept", b'{"agent_id": "ann"}', 422),
        ("post", "/v1/offers/cdeadbeef.1/accept", b"", 422),  # no agent_id
        ("post", "/v1/offers/cdeadbeef.1/accept", b'{"agent_id": "ann"}', 404),
        ("post", "/v1/contacts/cdeadbeef/complete", b"{}", 422),  # no agent_id
        ("post", "/v1/contacts/cdeadbeef/complete", b'{"agent_id": "ann"}', 404),
        ("get", "/v1/queues/nowhere", b"", 404),
    ],
)
async def test_bad_requests_get_problem_json_and_change_nothing(
    api: TestClient, redis: Redis, method: str, path: str, data: bytes, status: int
) -> None:
    await api.put("/v1/agents/ann", json={"name": "Ann", "queues": ["billing"]})
    before = await dump(redis)
    response = await api.request(
        method, path, data=data, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status and problem["detail"]
    assert await dump(redis) == before


async def test_health_and_openapi(api: TestClient) -> None:
    health = await api.get("/healthz")
    assert health.status == 200 and (await health.json())["redis"] == "reachable"
    spec = await (await api.get("/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in api.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (m, path) for path, ops in spec["paths"].items() for m in ops if m != "parameters"
    }
    # the document itself; the agent's websocket (docs/websocket.md); the console's page;
    # the web chat's page, widget, customer websocket and CORS answer (docs/channels.md)
    served -= {
        ("get", "/v1/openapi.json"),
        ("get", "/v1/agent/ws"),
        ("get", "/console"),
        ("get", "/console/static/{name}"),
        ("get", "/chat"),
        ("get", "/chat/widget.js"),
        ("get", "/v1/chat/ws"),
        ("options", "/v1/chat/conversations"),
    }
    assert served - documented == set()  # every route an integrator can call is documented
    assert "channel" in spec["components"]["schemas"]["ContactIn"]["properties"]


async def test_a_call_with_a_withheld_caller_id_is_queued_with_a_warning(api: TestClient) -> None:
    call = {"channel": "voice", "external_id": "call-9", "customer": {"phone": "anonymous"}}
    created = await api.post("/v1/contacts", json={**call, "queue": "billing"})
    assert created.status == 201
    contact = await created.json()
    assert contact["state"] == "queued"
    assert [w["field"] for w in contact["warnings"]] == ["customer.phone"]


async def test_the_expected_wait_counts_only_agents_who_take_work(api: TestClient) -> None:
    await api.post("/v1/contacts", json={**CHAT, "skills": {}})
    for name in ("ann", "bob"):
        await api.put(f"/v1/agents/{name}", json={"name": name, "queues": ["billing"]})
        await api.put(f"/v1/agents/{name}/presence", json={"presence": "away", "reason": "break"})
    queue = await (await api.get("/v1/queues/billing")).json()
    assert queue["agents_logged_in"] == 2 and queue["agents_available"] == 0
    assert queue["ewt_seconds"] is None  # nobody takes work: unknown, not a made-up wait
    await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    queue = await (await api.get("/v1/queues/billing")).json()
    # (1 waiting + 1) / 1 agent taking work times the default handle time, 180 s
    assert queue["ewt_seconds"] == 360.0
