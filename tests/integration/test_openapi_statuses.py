"""Every status the OpenAPI document declares is one its handler really answers.

CASES holds, for each documented (method, path, status), a request that gets that status;
the document and the table must name the same statuses, and each request is driven against
the real app. So documenting a status no request can produce fails (no case can pass), and so
does a case for a status the document leaves out. The other half, a status a handler returns
that its operation forgot, is checked on every API test by make_api (AnsweredStatuses).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.domain.identity import identity
from ccaas.domain.roles import PUBLIC, Role
from ccaas.domain.rules.classify import Rejection
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ContactRejected
from ccaas.router.service import Router
from ccaas.runtime.engine import MessengerOptions, TelegramOptions, WhatsAppOptions
from ccaas.store.customers import CustomerRepository
from ccaas.store.health import RedisState
from ccaas.web.app import build_app
from ccaas.web.intake_window import INTAKE
from ccaas.web.openapi import documented_routes
from ccaas.web.services import SERVICES
from tests.helpers import MONDAY_10AM, RULES, MakeApi, bearer, settled
from tests.meta_graph import APP_SECRET, VERIFY_TOKEN, WEBHOOK, deliver, signed, text_message
from tests.twilio_caller import AUTH_TOKEN, PUBLIC_URL, Twilio, call

MAX_BODY = 4 * 1024
PATH_VALUES = {"id": "x1", "name": "billing", "version": "1", "kind": "not-found"}
CHAT = {"channel": "chat", "external_id": "chat-1"}  # the rules put it in billing
ANN = {"agent_id": "ann"}  # the agent World.offer() offers to


@dataclass
class World:
    """The app under test and the few states the cases start from."""

    api: TestClient
    monkeypatch: pytest.MonkeyPatch

    async def call(self, method: str, path: str, **kw: Any) -> ClientResponse:
        return await self.api.request(method, path, **kw)

    async def contact(self, external_id: str = "chat-1") -> str:
        response = await self.api.post("/v1/contacts", json={**CHAT, "external_id": external_id})
        assert response.status == 201
        return str((await response.json())["id"])

    async def offer(self) -> str:
        """A contact offered to an available agent; its offer id."""
        ann = {"name": "Ann", "profile": "billing_team", "skills": {"billing": 9}}
        assert (await self.api.put("/v1/agents/ann", json=ann)).status == 201
        presence = await self.api.put("/v1/agents/ann/presence", json={"presence": "available"})
        assert presence.status == 200
        contact_id = await self.contact()
        await Router(self.api.app[SERVICES].ctx).route_once()
        contact = await (await self.api.get(f"/v1/contacts/{contact_id}")).json()
        assert contact["state"] == "offered", contact
        return str(contact["offer_id"])

    async def connected(self) -> str:
        accepted = await self.api.post(f"/v1/offers/{await self.offer()}/accept", json=ANN)
        assert accepted.status == 200
        return str((await accepted.json())["id"])

    async def customer(self, kind: str = "phone", value: str = "+442079460001") -> str:
        repo = CustomerRepository(self.api.app[SERVICES].ctx)
        return (await repo.resolve([identity(kind, value, "GB")])).customer_id


Case = Callable[[World], Awaitable[ClientResponse]]
CASES: dict[tuple[str, str, int], Case] = {}


def case(method: str, path: str, status: int) -> Callable[[Case], Case]:
    def register(drive: Case) -> Case:
        assert (method, path, status) not in CASES, (method, path, status)
        CASES[(method, path, status)] = drive
        return drive

    return register


def request(method: str, path: str, status: int, target: str | None = None, **kw: Any) -> None:
    """A case that needs no state: one request (to `target`, default `path`)."""

    async def drive(w: World) -> ClientResponse:
        return await w.call(method, target or path, **kw)

    case(method, path, status)(drive)


# A JSON body is read before anything else: the same three refusals on every route with one.
JSON_BODY_ROUTES = {
    ("post", "/v1/contacts"): "/v1/contacts",
    ("post", "/v1/contacts/{id}/complete"): "/v1/contacts/c1/complete",
    ("post", "/v1/offers/{id}/accept"): "/v1/offers/c1.1/accept",
    ("post", "/v1/offers/{id}/reject"): "/v1/offers/c1.1/reject",
    ("put", "/v1/agents/{id}"): "/v1/agents/zed",
    ("put", "/v1/agents/{id}/presence"): "/v1/agents/zed/presence",
    ("patch", "/v1/customers/{id}"): "/v1/customers/u1",
    ("post", "/v1/customers/{id}/identities"): "/v1/customers/u1/identities",
    ("post", "/v1/customers/{id}/merge"): "/v1/customers/u1/merge",
    ("post", "/v1/auth/sign-in"): "/v1/auth/sign-in",
    ("put", "/v1/agents/{id}/password"): "/v1/agents/zed/password",
    ("post", "/v1/auth/tokens"): "/v1/auth/tokens",
    ("post", "/v1/contacts/{id}/messages"): "/v1/contacts/c1/messages",
    ("post", "/v1/contacts/{id}/callback"): "/v1/contacts/c1/callback",
    ("post", "/v1/chat/conversations"): "/v1/chat/conversations",
    ("post", "/v1/contacts/{id}/callback/outcome"): "/v1/contacts/c1/callback/outcome",
}
JSON = {"Content-Type": "application/json"}
for (method, path), target in JSON_BODY_ROUTES.items():
    request(method, path, 400, target, data=b"{not json", headers=JSON)
    request(method, path, 413, target, data=b'{"x": "' + b"x" * MAX_BODY + b'"}', headers=JSON)
    request(method, path, 422, target, json={"no_such_field": 1})
    request(method, path, 415, target, data=b"{}", headers={"Content-Type": "text/plain"})

request("get", "/healthz", 200)


@case("get", "/healthz", 503)
async def _redis_down(w: World) -> ClientResponse:
    async def ping() -> None:
        raise ConnectionError("connection refused")

    w.monkeypatch.setattr(w.api.app[SERVICES].ctx.redis, "ping", ping)
    return await w.call("get", "/healthz")


# contacts
request("post", "/v1/contacts", 201, json=CHAT)
request(
    "post",
    "/v1/contacts",
    409,
    json={"channel": "email", "external_id": "m1", "attributes": {"intent": "buy"}},
)


@case("post", "/v1/contacts", 200)
async def _same_contact_again(w: World) -> ClientResponse:
    await w.contact()
    return await w.call("post", "/v1/contacts", json=CHAT)


@case("post", "/v1/contacts", 429)
async def _intake_window_full(w: World) -> ClientResponse:
    window = w.api.app[INTAKE].window
    while window.try_acquire():  # as many arrivals under way as the replica takes
        pass
    return await w.call("post", "/v1/contacts", json=CHAT)


for path in ("/v1/contacts/{id}", "/v1/contacts/{id}/explain", "/v1/contacts/{id}/body"):
    request("get", path, 404, path.format(id="cdeadbeef"))

    @case("get", path, 200)
    async def _read_contact(w: World, path: str = path) -> ClientResponse:
        contact_id = await w.contact()
        if path.endswith("/body"):
            await w.call("put", f"/v1/contacts/{contact_id}/body", data="the transcript")
        return await w.call("get", path.format(id=contact_id))


request("delete", "/v1/contacts/{id}", 404, "/v1/contacts/cdeadbeef")


@case("delete", "/v1/contacts/{id}", 200)
async def _abandon(w: World) -> ClientResponse:
    return await w.call("delete", f"/v1/contacts/{await w.contact()}")


@case("delete", "/v1/contacts/{id}", 409)
async def _abandon_completed(w: World) -> ClientResponse:
    contact_id = await w.connected()
    done = await w.call("post", f"/v1/contacts/{contact_id}/complete", json=ANN)
    assert done.status == 200
    return await w.call("delete", f"/v1/contacts/{contact_id}")


request("post", "/v1/contacts/{id}/complete", 404, "/v1/contacts/cdeadbeef/complete", json=ANN)


@case("post", "/v1/contacts/{id}/complete", 200)
async def _complete(w: World) -> ClientResponse:
    return await w.call("post", f"/v1/contacts/{await w.connected()}/complete", json=ANN)


@case("post", "/v1/contacts/{id}/complete", 409)
async def _complete_queued(w: World) -> ClientResponse:
    return await w.call("post", f"/v1/contacts/{await w.contact()}/complete", json=ANN)


BODY = "/v1/contacts/{id}/body"
request("put", BODY, 404, "/v1/contacts/cdeadbeef/body", data="text")
request("put", BODY, 413, "/v1/contacts/cdeadbeef/body", data="x" * (512 * 1024 + 1))
request("put", BODY, 422, "/v1/contacts/cdeadbeef/body?kind=fax", data="text")


@case("put", BODY, 200)
async def _keep_body(w: World) -> ClientResponse:
    return await w.call("put", BODY.format(id=await w.contact()), data="the transcript")


@case("put", BODY, 400)
async def _empty_body(w: World) -> ClientResponse:
    return await w.call("put", BODY.format(id=await w.contact()), data="")


@case("put", BODY, 409)
async def _body_of_an_erased_customers_contact(w: World) -> ClientResponse:
    created = await w.call("post", "/v1/contacts", json={**CHAT, "customer": {"login": "jo"}})
    contact = await created.json()
    assert (await w.call("delete", f"/v1/customers/{contact['customer_id']}")).status == 200
    return await w.call("put", BODY.format(id=contact["id"]), data="the transcript")


# agents and offers
request("get", "/v1/agents", 200)
request("get", "/v1/agents", 422, "/v1/agents?limit=0")
request("put", "/v1/agents/{id}", 201, "/v1/agents/zed", json={"name": "Zed"})
request("get", "/v1/agents/{id}", 404, "/v1/agents/nobody")
request(
    "put", "/v1/agents/{id}/presence", 404, "/v1/agents/nobody/presence", json={"presence": "away"}
)


@case("put", "/v1/agents/{id}", 200)
async def _replace_agent(w: World) -> ClientResponse:
    await w.call("put", "/v1/agents/zed", json={"name": "Zed"})
    return await w.call("put", "/v1/agents/zed", json={"name": "Zed Two"})


@case("get", "/v1/agents/{id}", 200)
async def _read_agent(w: World) -> ClientResponse:
    await w.call("put", "/v1/agents/zed", json={"name": "Zed"})
    return await w.call("get", "/v1/agents/zed")


@case("put", "/v1/agents/{id}/presence", 200)
async def _set_presence(w: World) -> ClientResponse:
    await w.call("put", "/v1/agents/zed", json={"name": "Zed"})
    return await w.call("put", "/v1/agents/zed/presence", json={"presence": "away"})


for verb in ("accept", "reject"):
    path = f"/v1/offers/{{id}}/{verb}"
    request("post", path, 404, path.format(id="cdeadbeef.1"), json=ANN)

    @case("post", path, 200)
    async def _answer(w: World, path: str = path) -> ClientResponse:
        return await w.call("post", path.format(id=await w.offer()), json=ANN)

    @case("post", path, 409)
    async def _answer_for_another(w: World, path: str = path) -> ClientResponse:
        return await w.call("post", path.format(id=await w.offer()), json={"agent_id": "zed"})


# queues
request("get", "/v1/queues", 200)
request("get", "/v1/queues/{name}", 200, "/v1/queues/billing")
request("get", "/v1/queues/{name}", 404, "/v1/queues/nowhere")

# admin rules
BIG_RULES = ("# " + "x" * (1024 * 1024) + "\n" + RULES).encode()
for method, path, ok in (
    ("put", "/v1/admin/rules", 201),
    ("post", "/v1/admin/rules/validate", 200),
):
    request(method, path, ok, data=RULES)
    request(method, path, 400, data=b"\xff\xfe")

    @case(method, path, 413)
    async def _rules_too_big(w: World, method: str = method, path: str = path) -> ClientResponse:
        return await w.call(method, path, data=io.BytesIO(BIG_RULES))  # a new stream each time

    request(method, path, 422, data="queues: [")


@case("put", "/v1/admin/rules", 200)
async def _put_the_rules_in_force(w: World) -> ClientResponse:
    await w.call("put", "/v1/admin/rules", data=RULES)
    return await w.call("put", "/v1/admin/rules", data=RULES)


request("get", "/v1/admin/rules", 200)
request("get", "/v1/admin/rules/versions", 200)
ROLLBACK = "/v1/admin/rules/rollback/{version}"
request("post", ROLLBACK, 404, "/v1/admin/rules/rollback/9")


@case("post", ROLLBACK, 201)
async def _rollback(w: World) -> ClientResponse:
    await w.call("put", "/v1/admin/rules", data=RULES)
    await w.call("put", "/v1/admin/rules", data=RULES.replace("add: 20", "add: 10"))
    return await w.call("post", "/v1/admin/rules/rollback/1")


@case("post", ROLLBACK, 200)
async def _rollback_to_the_version_in_force(w: World) -> ClientResponse:
    await w.call("put", "/v1/admin/rules", data=RULES)
    return await w.call("post", "/v1/admin/rules/rollback/1")


VERSION = "/v1/admin/rules/versions/{version}"
request("get", VERSION, 422, "/v1/admin/rules/versions/x")
request("get", VERSION, 404, "/v1/admin/rules/versions/9")


@case("get", VERSION, 200)
async def _read_a_version(w: World) -> ClientResponse:
    await w.call("put", "/v1/admin/rules", data=RULES)
    return await w.call("get", "/v1/admin/rules/versions/1")


@case("post", ROLLBACK, 422)
async def _rollback_would_strand(w: World) -> ClientResponse:
    await w.call("put", "/v1/admin/rules", data=RULES)
    more = RULES.replace("queues:\n", "queues:\n  extra: {channels: [chat]}\n", 1)
    assert (await w.call("put", "/v1/admin/rules", data=more)).status == 201
    waiting = {"channel": "chat", "external_id": "x-1", "queue": "extra"}
    assert (await w.call("post", "/v1/contacts", json=waiting)).status == 201
    return await w.call("post", "/v1/admin/rules/rollback/1")  # v1 has no queue 'extra'


@case("delete", "/v1/customers/{id}", 409)
async def _erase_a_merged_customer(w: World) -> ClientResponse:
    jo, dup = await w.customer(), await w.customer("email", "jo@example.com")
    assert (await w.call("post", f"/v1/customers/{jo}/merge", json={"from": dup})).status == 200
    return await w.call("delete", f"/v1/customers/{dup}")


# customers
request("get", "/v1/customers", 404, "/v1/customers?phone=%2B442079460009")
request("get", "/v1/customers", 422, "/v1/customers?phone=12")


@case("get", "/v1/customers", 200)
async def _find_customer(w: World) -> ClientResponse:
    await w.customer()
    return await w.call("get", "/v1/customers?phone=%2B442079460001")


CUSTOMER_READS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/v1/customers/{id}"): {},
    ("get", "/v1/customers/{id}/timeline"): {},
    ("delete", "/v1/customers/{id}"): {},
    ("patch", "/v1/customers/{id}"): {"json": {"name": "Jo"}},
    ("post", "/v1/customers/{id}/identities"): {
        "json": {"identities": [{"kind": "email", "value": "jo@example.com"}]}
    },
}
for (method, path), kw in CUSTOMER_READS.items():
    request(method, path, 404, path.format(id="u404"), **kw)

    @case(method, path, 200)
    async def _on_customer(
        w: World, method: str = method, path: str = path, kw: dict[str, Any] = kw
    ) -> ClientResponse:
        return await w.call(method, path.format(id=await w.customer()), **kw)


TIMELINE = "/v1/customers/{id}/timeline"
request("get", TIMELINE, 422, "/v1/customers/u1/timeline?limit=0")
MERGE = "/v1/customers/{id}/merge"
request("post", MERGE, 404, "/v1/customers/u404/merge", json={"from": "u405"})


@case("post", MERGE, 200)
async def _merge(w: World) -> ClientResponse:
    jo, dup = await w.customer(), await w.customer("email", "jo@example.com")
    return await w.call("post", MERGE.format(id=jo), json={"from": dup})


@case("post", MERGE, 409)
async def _merge_itself(w: World) -> ClientResponse:
    jo = await w.customer()
    return await w.call("post", MERGE.format(id=jo), json={"from": jo})


@case("post", "/v1/customers/{id}/identities", 409)
async def _someone_elses_identity(w: World) -> ClientResponse:
    jo, sam = await w.customer(), await w.customer("email", "sam@example.com")
    assert jo != sam
    identities = {"identities": [{"kind": "email", "value": "sam@example.com"}]}
    return await w.call("post", f"/v1/customers/{jo}/identities", json=identities)


# Redis not serving: every route that needs it answers 503 at once (the watcher said so)
for method, path, described in documented_routes(build_app()):
    if not described.needs_redis:
        continue

    @case(method, path, 503)
    async def _redis_not_serving(
        w: World, method: str = method, path: str = path
    ) -> ClientResponse:
        w.api.app[SERVICES].ctx.health.change(RedisState.DOWN, "connection refused")
        return await w.call(method, path.format(**PATH_VALUES), json={})


# signing in, passwords, tokens
async def _ann_with_password(w: World) -> None:
    ann = {"name": "Ann", "profile": "billing_team", "skills": {"billing": 9}}
    assert (await w.api.put("/v1/agents/ann", json=ann)).status == 201
    set_it = await w.api.put("/v1/agents/ann/password", json={"password": "correct horse"})
    assert set_it.status == 200


@case("post", "/v1/auth/sign-in", 200)
async def _sign_in(w: World) -> ClientResponse:
    await _ann_with_password(w)
    return await w.call("post", "/v1/auth/sign-in", json={**ANN, "password": "correct horse"})


@case("post", "/v1/auth/sign-in", 401)
async def _wrong_password(w: World) -> ClientResponse:
    await _ann_with_password(w)
    return await w.call("post", "/v1/auth/sign-in", json={**ANN, "password": "wrong horse"})


@case("post", "/v1/auth/sign-in", 429)
async def _guessed_too_often(w: World) -> ClientResponse:
    await _ann_with_password(w)
    for _ in range(10):
        wrong = await w.call("post", "/v1/auth/sign-in", json={**ANN, "password": "guess"})
        assert wrong.status == 401
    return await w.call("post", "/v1/auth/sign-in", json={**ANN, "password": "correct horse"})


@case("put", "/v1/agents/{id}/password", 200)
async def _set_password(w: World) -> ClientResponse:
    await _ann_with_password(w)
    return await w.call("put", "/v1/agents/ann/password", json={"password": "battery staple"})


request(
    "put",
    "/v1/agents/{id}/password",
    404,
    "/v1/agents/zed/password",
    json={"password": "long enough"},
)
request("post", "/v1/auth/tokens", 201, json={"role": "adapter", "name": "web-widget"})


# no token, or one that is not valid here: 401 on every route that needs one; a role the
# route does not admit: 403
for method, path, described in documented_routes(build_app()):
    if described.roles == PUBLIC:
        continue
    target = path.format(**PATH_VALUES)
    request(method, path, 401, target, json={}, headers={"Authorization": "Bearer not-a-token"})
    refused = sorted(set(Role) - described.roles)
    if refused:
        headers = bearer(refused[0], "someone")
        request(method, path, 403, target, json={}, headers=headers)


@case("get", "/v1/contacts/{id}", 403)
async def _another_agents_contact(w: World) -> ClientResponse:
    contact_id = await w.contact()
    return await w.call("get", f"/v1/contacts/{contact_id}", headers=bearer(Role.AGENT, "bob"))


@case("get", "/v1/contacts/{id}/body", 403)
async def _another_agents_body(w: World) -> ClientResponse:
    contact_id = await w.contact()
    headers = bearer(Role.AGENT, "bob")
    return await w.call("get", f"/v1/contacts/{contact_id}/body", headers=headers)


# conversations
MESSAGES = "/v1/contacts/{id}/messages"


@case("post", MESSAGES, 201)
async def _customer_writes(w: World) -> ClientResponse:
    return await w.call("post", MESSAGES.format(id=await w.contact()), json={"text": "hello"})


@case("post", MESSAGES, 409)
async def _to_a_call(w: World) -> ClientResponse:
    call = await w.api.post("/v1/contacts", json={"channel": "voice", "external_id": "v1"})
    assert call.status == 201
    contact_id = (await call.json())["id"]
    return await w.call("post", MESSAGES.format(id=contact_id), json={"text": "hello"})


request("post", MESSAGES, 404, MESSAGES.format(id="nobody"), json={"text": "hello"})


@case("post", MESSAGES, 200)
async def _the_same_message_again(w: World) -> ClientResponse:
    path, body = MESSAGES.format(id=await w.contact()), {"text": "hello", "message_id": "m-1"}
    assert (await w.call("post", path, json=body)).status == 201
    return await w.call("post", path, json=body)


# web chat
CONVERSATIONS = "/v1/chat/conversations"
request("post", CONVERSATIONS, 201, json={"text": "hello"})


@case("post", CONVERSATIONS, 409)
async def _web_chat_no_queue_takes(w: World) -> ClientResponse:
    async def full(contact: Any) -> Any:  # as ingest answers when the queue is full
        raise ContactRejected(Rejection("full", "billing", "default"))

    w.monkeypatch.setattr(w.api.app[SERVICES].ingest, "enqueue", full)
    return await w.call("post", CONVERSATIONS, json={"text": "hello"})


@case("post", CONVERSATIONS, 429)
async def _web_chat_intake_full(w: World) -> ClientResponse:
    window = w.api.app[INTAKE].window
    while window.try_acquire():
        pass
    return await w.call("post", CONVERSATIONS, json={"text": "hello"})


# callbacks
CALLBACK = "/v1/contacts/{id}/callback"
NUMBER = {"number": "+442079460010"}


@case("post", CALLBACK, 201)
async def _callback(w: World) -> ClientResponse:
    return await w.call("post", CALLBACK.format(id=await w.contact()), json=NUMBER)


@case("post", CALLBACK, 200)
async def _the_numbers_callback_again(w: World) -> ClientResponse:
    first = await w.call("post", CALLBACK.format(id=await w.contact()), json=NUMBER)
    assert first.status == 201
    return await w.call("post", CALLBACK.format(id=await w.contact("chat-2")), json=NUMBER)


@case("post", CALLBACK, 409)
async def _callback_for_a_held_contact(w: World) -> ClientResponse:
    return await w.call("post", CALLBACK.format(id=await w.connected()), json=NUMBER)


request("post", CALLBACK, 404, CALLBACK.format(id="nobody"), json=NUMBER)
OUTCOME = "/v1/contacts/{id}/callback/outcome"
REACHED = {"agent_id": "ann", "outcome": "reached"}


@case("post", OUTCOME, 200)
async def _callback_reached(w: World) -> ClientResponse:
    call = await w.api.post("/v1/contacts", json={"channel": "voice", "external_id": "v9"})
    contact_id = (await call.json())["id"]
    assert (await w.call("post", CALLBACK.format(id=contact_id), json=NUMBER)).status == 201
    ann = {"name": "Ann", "profile": "billing_team", "skills": {"billing": 9}}
    assert (await w.api.put("/v1/agents/ann", json=ann)).status == 201
    await w.api.put("/v1/agents/ann/presence", json={"presence": "available"})
    await Router(w.api.app[SERVICES].ctx).route_once()
    offer = (await (await w.api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await w.api.post(f"/v1/offers/{offer}/accept", json=ANN)).status == 200
    return await w.call("post", OUTCOME.format(id=contact_id), json=REACHED)


@case("post", OUTCOME, 409)
async def _outcome_of_no_callback(w: World) -> ClientResponse:
    return await w.call("post", OUTCOME.format(id=await w.connected()), json=REACHED)


request("post", OUTCOME, 404, OUTCOME.format(id="nobody"), json=REACHED)


# voice webhooks (Twilio): signed as Twilio signs
VOICE = "/v1/channels/voice/twilio"


async def _call_waiting(w: World, sid: str = "CA01") -> str:
    answer = await Twilio(w.api).post(f"{VOICE}/incoming?queue=billing", call(sid))
    assert answer.status == 200, await answer.text()
    ctx = w.api.app[SERVICES].ctx
    return str(await ctx.redis.hget(ctx.keys.external_ids, f"voice:{sid}"))


@case("post", f"{VOICE}/incoming", 200)
async def _a_call(w: World) -> ClientResponse:
    return await Twilio(w.api).post(f"{VOICE}/incoming?queue=billing", call("CA01"))


@case("post", f"{VOICE}/incoming", 422)
async def _a_call_without_sid(w: World) -> ClientResponse:
    params = {k: v for k, v in call("CA01").items() if k != "CallSid"}
    return await Twilio(w.api).post(f"{VOICE}/incoming", params)


@case("post", f"{VOICE}/status", 204)
async def _a_call_ended(w: World) -> ClientResponse:
    await _call_waiting(w)
    return await Twilio(w.api).post(f"{VOICE}/status", call("CA01", CallStatus="completed"))


@case("post", f"{VOICE}/status", 422)
async def _a_status_without_sid(w: World) -> ClientResponse:
    params = {"CallStatus": "completed"}
    return await Twilio(w.api).post(f"{VOICE}/status", params)


@case("post", f"{VOICE}/dialled", 200)
async def _the_agents_leg_ended(w: World) -> ClientResponse:
    return await Twilio(w.api).post(f"{VOICE}/dialled?contact=c1", call("CA01"))


for _name in ("wait", "gather", "dequeued"):

    @case("post", f"{VOICE}/{_name}", 200)
    async def _while_waiting(w: World, name: str = _name) -> ClientResponse:
        contact_id = await _call_waiting(w)
        params = call("CA01", Digits="5", QueueResult="leave")
        return await Twilio(w.api).post(f"{VOICE}/{name}?contact={contact_id}", params)

    @case("post", f"{VOICE}/{_name}", 404)
    async def _for_nobody(w: World, name: str = _name) -> ClientResponse:
        return await Twilio(w.api).post(f"{VOICE}/{name}?contact=nobody", call("CA01"))


# WhatsApp webhooks: signed as Meta signs them
def meta_hmac(raw: bytes) -> str:
    return hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()


SUBSCRIBE = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
request("get", WEBHOOK, 200, WEBHOOK, params=SUBSCRIBE)
request("get", WEBHOOK, 401, WEBHOOK, params={**SUBSCRIBE, "hub.verify_token": "guess"})


@case("get", WEBHOOK, 503)
async def _whatsapp_check_without_redis(w: World) -> ClientResponse:
    w.api.app[SERVICES].ctx.health.change(RedisState.DOWN, "connection refused")
    return await w.call("get", WEBHOOK, params=SUBSCRIBE)


@case("post", WEBHOOK, 200)
async def _a_whatsapp_message(w: World) -> ClientResponse:
    return await deliver(w.api, text_message("wamid.1", "hello"))


@case("post", WEBHOOK, 400)
async def _a_signed_body_that_is_not_json(w: World) -> ClientResponse:
    raw = b"{not json"
    headers = {"X-Hub-Signature-256": "sha256=" + meta_hmac(raw)}
    return await w.call("post", WEBHOOK, data=raw, headers=headers)


@case("post", WEBHOOK, 422)
async def _a_signed_body_of_another_shape(w: World) -> ClientResponse:
    return await deliver(w.api, {"object": "page", "entry": []})


request("post", WEBHOOK, 401, WEBHOOK, json=text_message("wamid.1", "hello"))
request("post", WEBHOOK, 413, WEBHOOK, data=b"x" * (MAX_BODY + 1))


@case("post", WEBHOOK, 503)
async def _whatsapp_without_redis(w: World) -> ClientResponse:
    w.api.app[SERVICES].ctx.health.change(RedisState.DOWN, "connection refused")
    return await deliver(w.api, text_message("wamid.1", "hello"))


# Messenger and Telegram webhooks
FB = "/v1/channels/messenger/webhook"
TG = "/v1/channels/telegram/webhook"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
FB_MESSAGE = {"object": "page", "entry": [{"messaging": [
    {"sender": {"id": "123456"}, "message": {"mid": "m_1", "text": "hi"}}]}]}  # fmt: skip
TG_UPDATE = {"update_id": 1, "message": {"chat": {"id": 5}, "from": {"id": 5}, "text": "hi"}}
request("get", FB, 200, FB, params=SUBSCRIBE)
request("get", FB, 401, FB, params={**SUBSCRIBE, "hub.verify_token": "guess"})
request("post", FB, 401, FB, json=FB_MESSAGE)
request("post", FB, 413, FB, data=b"x" * (MAX_BODY + 1))
request("post", TG, 200, TG, json=TG_UPDATE, headers=TG_HEADERS)
request("post", TG, 401, TG, json=TG_UPDATE)
request("post", TG, 400, TG, data=b"{not json", headers=TG_HEADERS)
request("post", TG, 413, TG, data=b"x" * (MAX_BODY + 1), headers=TG_HEADERS)
request("post", TG, 422, TG, json={"update_id": "one"}, headers=TG_HEADERS)


@case("post", FB, 200)
async def _a_messenger_message(w: World) -> ClientResponse:
    raw, headers = signed(FB_MESSAGE)
    return await w.call("post", FB, data=raw, headers=headers)


@case("post", FB, 400)
async def _a_signed_messenger_body_that_is_not_json(w: World) -> ClientResponse:
    raw = b"{not json"
    return await w.call(
        "post", FB, data=raw, headers={"X-Hub-Signature-256": "sha256=" + meta_hmac(raw)}
    )


@case("post", FB, 422)
async def _a_signed_messenger_body_of_another_shape(w: World) -> ClientResponse:
    raw, headers = signed({"object": "instagram"})
    return await w.call("post", FB, data=raw, headers=headers)


for _method, _path, _params in (("get", FB, SUBSCRIBE), ("post", FB, None), ("post", TG, None)):

    @case(_method, _path, 503)
    async def _social_without_redis(
        w: World, method: str = _method, path: str = _path, params: Any = _params
    ) -> ClientResponse:
        w.api.app[SERVICES].ctx.health.change(RedisState.DOWN, "connection refused")
        return await w.call(method, path, params=params)


for _name in ("incoming", "wait", "gather", "dequeued", "dialled", "status"):
    request("post", f"{VOICE}/{_name}", 401, data=call("CA01"))  # no signature

    @case("post", f"{VOICE}/{_name}", 503)
    async def _voice_without_redis(w: World, name: str = _name) -> ClientResponse:
        w.api.app[SERVICES].ctx.health.change(RedisState.DOWN, "connection refused")
        return await Twilio(w.api).post(f"{VOICE}/{name}?contact=c1", call("CA01"))


@case("get", MESSAGES, 200)
async def _read_conversation(w: World) -> ClientResponse:
    return await w.call("get", MESSAGES.format(id=await w.contact()))


request("get", MESSAGES, 404, MESSAGES.format(id="nobody"))
request("get", MESSAGES, 422, MESSAGES.format(id="c1") + "?after=yesterday")


@case("get", MESSAGES, 403)
async def _another_agents_conversation(w: World) -> ClientResponse:
    contact_id = await w.contact()
    headers = bearer(Role.AGENT, "bob")
    return await w.call("get", MESSAGES.format(id=contact_id), headers=headers)


# problem types
request("get", "/v1/problems/{kind}", 200, "/v1/problems/not-found")
request("get", "/v1/problems/{kind}", 404, "/v1/problems/nonsense")


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(
        parse_rules(RULES, "routing.yaml"),
        clock=ManualClock(MONDAY_10AM),
        max_body_bytes=MAX_BODY,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        whatsapp=WhatsAppOptions(APP_SECRET, VERIFY_TOKEN),
        messenger=MessengerOptions(APP_SECRET, VERIFY_TOKEN),
        telegram=TelegramOptions("tg-secret"),
    )
    await settled(api)
    return api


def _declared(spec: dict[str, Any]) -> dict[tuple[str, str, int], bool]:
    """(method, path, status) → whether the document says it is a problem+json answer."""
    return {
        (method, path, int(status)): "application/problem+json" in response.get("content", {})
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method != "parameters"
        for status, response in op["responses"].items()
    }


async def test_the_cases_are_exactly_the_documented_statuses(api: TestClient) -> None:
    declared = _declared(await (await api.get("/v1/openapi.json")).json())
    assert sorted(set(declared) - set(CASES)) == [], "documented, but no request gets it"
    assert sorted(set(CASES) - set(declared)) == [], "a request gets it, but not documented"


@pytest.mark.parametrize(
    ("method", "path", "status"), sorted(CASES), ids=[" ".join(map(str, k)) for k in sorted(CASES)]
)
async def test_each_documented_status_is_answered(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, status: int
) -> None:
    declared = _declared(await (await api.get("/v1/openapi.json")).json())
    response = await CASES[(method, path, status)](World(api, monkeypatch))
    body = await response.read()
    assert response.status == status, body[:300]
    problem = response.content_type == "application/problem+json"
    assert problem == declared.get((method, path, status)), response.content_type
    if problem:
        kind = await response.json()
        described = await api.get(kind["type"])  # the type resolves on the API itself
        assert described.status == 200 and (await described.json())["status"] == status
