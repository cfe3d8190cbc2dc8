"""Sign-in and roles under attack: guessing, probing other desks, forged tokens, odd ids."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccaas.domain.roles import Role
from ccaas.errors import ConfigError
from ccaas.router.service import Router
from ccaas.runtime.credentials_cli import set_agent_password
from ccaas.runtime.settings import Settings
from ccaas.web.services import SERVICES
from tests.helpers import TEST_SECRET, MakeApi, bearer, post_contact_from


async def _agent(api: TestClient, agent_id: str, available: bool = True) -> None:
    put = await api.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "queues": ["billing"]})
    assert put.status == 201
    if available:
        presence = {"presence": "available"}
        assert (await api.put(f"/v1/agents/{agent_id}/presence", json=presence)).status == 200


async def _contact(api: TestClient, contact_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = await (await api.get(f"/v1/contacts/{contact_id}")).json()
    return answer


async def test_guessing_an_agents_password_is_slowed_down(make_api: MakeApi) -> None:
    """POST /v1/auth/sign-in needs no token and has no limit: anyone who reaches the port
    may guess as fast as argon2 allows (and keep the CPU busy doing it)."""
    admin = await make_api()
    await _agent(admin, "ann", available=False)
    assert (await admin.put("/v1/agents/ann/password", json={"password": "correct horse"})).ok
    anyone = await make_api(as_role=None)
    statuses = []
    for attempt in range(30):
        body = {"agent_id": "ann", "password": f"guess-{attempt}"}
        statuses.append((await anyone.post("/v1/auth/sign-in", json=body)).status)
    assert 429 in statuses, f"30 wrong passwords in a row, all answered {set(statuses)}"


async def test_agents_password_refuses_an_id_no_agent_has_and_calls_nothing(
    tmp_path: Any,
) -> None:
    """`ccaas agents password ID` puts the id in the URL: 'a1/../a2' would set a2's password
    and 'ann?x' call PUT /v1/agents/ann. An id no agent can have is refused before any
    call; a good one is sent escaped."""
    seen: list[tuple[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.method, request.raw_path))
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = TestServer(app)
    await server.start_server()
    try:
        settings = Settings(
            data_dir=tmp_path, http_port=server.port, auth_secret=TEST_SECRET.decode()
        )
        for odd in ("a1/../a2", "ann?x", ""):
            with pytest.raises(ConfigError):
                await set_agent_password(settings, odd, "long enough password")
        await set_agent_password(settings, "a1.b:c", "long enough password")
    finally:
        await server.close()
    assert seen == [("PUT", "/v1/agents/a1.b:c/password")]  # ':' needs no escape in a path


async def test_refused_tokens_and_refused_roles_leave_a_line_in_the_log(make_api: MakeApi) -> None:
    """An agent probing other desks, or someone trying forged tokens, leaves no trace: the
    problem middleware logs no 401 or 403 (only a wrong sign-in is logged), so nobody can see
    the attack."""
    import structlog
    from structlog.testing import capture_logs

    api = await make_api(as_role=None)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        assert (
            await api.get("/v1/agents", headers={"Authorization": "Bearer x.y.z"})
        ).status == 401
        ann = bearer(Role.AGENT, "ann")
        assert (await api.get("/v1/agents/bob", headers=ann)).status == 403
        assert (await api.get("/v1/admin/rules", headers=ann)).status == 403
    levels = [(entry["log_level"], entry["event"]) for entry in logs]
    assert len(logs) >= 3, f"what the three refusals logged: {levels}"


async def test_one_accepted_contact_does_not_open_every_transcript_of_the_customer(
    make_api: MakeApi,
) -> None:
    """docs/api.md: an agent reads 'the contacts it is offered or holds and the customers
    whose contacts it accepted (GET /v1/customers/{id} and its timeline)'. scope.py lets it
    read any contact, and its body, of a customer it once served. The customer a contact
    joins is whoever its identities name, as the adapter (a web chat: the visitor) says: so
    Mallory opens a chat as jo@example.com, accepts it, and reads Ann's transcripts of Jo."""
    admin = await make_api()
    ctx = admin.server.app[SERVICES].ctx
    await _agent(admin, "ann")
    await _agent(admin, "mallory", available=False)
    ann, mallory = bearer(Role.AGENT, "ann"), bearer(Role.AGENT, "mallory")
    adapter = bearer(Role.ADAPTER, "web-chat")
    jo = await post_contact_from(admin, "chat-jo", {"email": "jo@example.com"})
    await Router(ctx).route_once()
    offer = (await _contact(admin, jo["id"]))["offer_id"]
    assert (await admin.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"},
                             headers=ann)).status == 200  # fmt: skip
    put = await admin.put(f"/v1/contacts/{jo['id']}/body", data="my card is 4111 1111",
                          headers={**adapter, "Content-Type": "text/plain"})  # fmt: skip
    assert put.status == 200
    assert (await admin.put("/v1/agents/ann/presence", json={"presence": "away"})).ok
    assert (await admin.put("/v1/agents/mallory/presence", json={"presence": "available"})).ok
    claimed = await admin.post(
        "/v1/contacts",
        json={"channel": "chat", "queue": "billing", "external_id": "chat-visitor-1",
              "customer": {"email": "jo@example.com"}},
        headers=adapter,
    )  # fmt: skip
    assert claimed.status == 201
    mine = (await claimed.json())["id"]
    await Router(ctx).route_once()
    offer = (await _contact(admin, mine))["offer_id"]
    assert (await admin.post(f"/v1/offers/{offer}/accept", json={"agent_id": "mallory"},
                             headers=mallory)).status == 200  # fmt: skip
    body = await admin.get(f"/v1/contacts/{jo['id']}/body", headers=mallory)
    assert body.status == 403, f"mallory reads ann's transcript: {await body.text()!r}"


async def test_a_route_that_forgets_its_roles_is_not_open_to_every_token(
    make_api: MakeApi,
) -> None:
    """auth.py: a /v1/ path with no @operation admits EVERYONE (and outside /v1/, PUBLIC). A
    route added without the decorator (as /v1/openapi.json is today) is open to any agent's or
    adapter's token instead of being refused until someone says who may call it."""
    from ccaas.domain.tokens import TokenSigner
    from ccaas.web.app import build_app

    async def dangerous(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = build_app(signer=TokenSigner(TEST_SECRET, "t1"))
    app.router.add_post("/v1/admin/forgotten", dangerous)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        answer = await client.post("/v1/admin/forgotten", headers=bearer(Role.AGENT, "ann"))
        assert answer.status == 403, f"an agent's token called an undeclared route: {answer.status}"
    finally:
        await client.close()
