"""Shared test values and helpers: a small routing configuration, the rules the rules tests
run on, and steps on a real store (arrivals, agents, router rounds, a dump of Redis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import BaseRunner
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import Clock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.roles import Principal, Role
from ccaas.domain.rules.compiled import CompiledRules
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.domain.tokens import TokenSigner
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from ccaas.web.openapi import documented_routes
from ccaas.web.runner import ProblemAppRunner

# The signing secret of every engine the tests start (create_app, `ccaas serve` processes).
TEST_SECRET = b"tests-sign-tokens-with-this-secret-0123456789"


def token(role: Role = Role.ADMIN, subject: str = "test-admin", tenant: str = "t1") -> str:
    """A valid bearer token of `role` for `subject`, signed as the test engines check it."""
    return TokenSigner(TEST_SECRET, tenant).issue(Principal(role, subject), 3600).token


def bearer(
    role: Role = Role.ADMIN, subject: str = "test-admin", tenant: str = "t1"
) -> dict[str, str]:
    """The Authorization header of such a token."""
    return {"Authorization": f"Bearer {token(role, subject, tenant)}"}


TEST_CONFIG = RoutingConfig.model_validate(
    {
        "aging_seconds_per_priority": 10,
        "max_missed_offers": 2,
        "queues": {
            "billing": {"channels": ["voice", "chat"], "offer_timeout_seconds": 20},
            "support": {
                "channels": ["chat", "email", "social"],
                "strategy": "most-skilled",
                "wrap_up_seconds": 5,
            },
            "sales": {"channels": ["voice", "email"], "strategy": "round-robin"},
        },
    }
)

# The routing file of the rules tests: on a live store, over HTTP, under bad admin bodies.
RULES = """
timezone: Europe/London
skills: [billing, spanish, english, retention]
hours:
  office:
    open: {mon-fri: ["08:00-20:00"]}
    holidays: ["2026-12-25"]
queues:
  billing:
    channels: [voice, chat]
    relaxation:
      - name: widen
        after_seconds: 60
        require: {billing: 3}
      - name: any-language
        when: queue.eligible_agents == 0
        drop: [spanish]
  sales:
    channels: [voice, chat]
    hours: office
    overflow: {closed: billing}
  callbacks:
    channels: [voice]
    max_size: 1
    overflow: {full: billing}
profiles:
  billing_team:
    queues: {billing: {priority: 1}}
  sales_team:
    queues:
      sales: {priority: 1}
      billing: {priority: 2, delay_seconds: 30}
classification:
  - name: returning
    when: has(contact.attributes.agent)
    queue: billing
    preferred_agent: {agent: contact.attributes.agent, hold_seconds: 20}
  - name: spanish-billing
    when: contact.attributes.language == "es"
    queue: billing
    skills: {billing: 7, spanish: 5}
  - name: sales
    when: contact.attributes.intent == "buy"
    queue: sales
  - name: default
    queue: billing
    skills: {billing: 7}
priority_rules:
  - name: gold
    when: customer.tier == "gold"
    add: 20
"""
# Monday 2026-11-23 10:00 London (= UTC in winter)
MONDAY_10AM = 1_795_428_000_000


async def add_agent(
    ctx: StoreContext, agent_id: str, skills: dict[str, int], profile: str = "billing_team"
) -> None:
    agents = AgentRepository(ctx)
    await agents.upsert(agent_id, AgentProfile(agent_id, skills, profile=profile))
    await Desk(ctx).set_presence(agent_id, Presence.AVAILABLE)


async def arrive(ctx: StoreContext, external_id: str, **kw: Any) -> str:
    contact = NewContact(channel=kw.pop("channel", Channel.CHAT), external_id=external_id, **kw)
    return (await Ingest(ctx).enqueue(contact)).contact_id


async def arrival_message(ctx: StoreContext, external_id: str) -> tuple[str, str]:
    """A chat arrives in billing; returns its id and the wake-up message its enqueue sent."""
    pubsub = ctx.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(ctx.keys.wake_channel)
    contact_id = await arrive(ctx, external_id, queue="billing")
    message = None
    for _ in range(5):
        message = message or await pubsub.get_message(timeout=0.2)
    await pubsub.aclose()
    assert message is not None, "the arrival woke no router"
    return contact_id, str(message["data"])


async def offered_to(router: Router) -> dict[str, str]:
    results = await router.route_once()
    return {r.planned.contact_id: r.planned.agent_id for r in results if r.offer_id}


async def dump(redis: Redis) -> dict[str, Any]:
    """Every key with its type and value: to prove a refused request changed nothing."""
    state: dict[str, Any] = {}
    for key in sorted(await redis.keys("*")):
        kind = await redis.type(key)
        if kind == "hash":
            state[key] = await redis.hgetall(key)
        elif kind == "zset":
            state[key] = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            state[key] = sorted(await redis.smembers(key))
        elif kind == "stream":
            state[key] = await redis.xrange(key)
        else:
            state[key] = await redis.get(key)
    return state


class ServedTestServer(TestServer):
    """A test server that runs the app as `ccaas serve` does (ProblemAppRunner)."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return ProblemAppRunner(self.app, **kwargs)


class MakeApi(Protocol):
    """The `make_api` fixture (tests/conftest.py): the API app on the test Redis, started.

    Unless told otherwise: TEST_CONFIG, tenant t1, the `clock` fixture, no router, and a
    client that sends an admin's token with every request (`as_role`: another role's, or
    None for no token); other keywords (max_body_bytes, watch_rules_file) go to create_app
    as they are."""

    async def __call__(
        self,
        rules: CompiledRules | RoutingConfig = ...,
        *,
        clock: Clock | None = None,
        run_router: bool = False,
        rules_file: Path | None = None,
        tenant: str = "t1",
        as_role: Role | None = Role.ADMIN,
        **options: Any,
    ) -> TestClient: ...


async def settled(api: TestClient) -> None:
    """Wait until the app's duties have started (one round trip to Redis lets the rules
    follower subscribe): an app stopped before that takes the engine's whole shutdown grace
    (5 s) to stop, which tests whose calls never reach Redis would otherwise pay."""
    assert (await api.get("/healthz")).status == 200


class AnsweredStatuses:
    """Records the status of every answer an app gives, by route, to compare with the statuses
    its OpenAPI document declares: make_api attaches one to each app it builds, so every API
    test also checks that the document names each status a handler really returned.

    500 is left out (a failure is never part of a contract), and so are answers no route of
    ours matched (aiohttp's 404 for an unknown path, 405) and undocumented routes, which
    tests/integration/test_api.py::test_health_and_openapi catches."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.seen: set[tuple[str, str, int]] = set()
        app.on_response_prepare.append(self._record)

    async def _record(self, request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        if resource is not None and response.status != 500:
            self.seen.add((request.method.lower(), resource.canonical, response.status))

    def undocumented(self) -> list[str]:
        declared = {
            (method, path, status)
            for method, path, described in documented_routes(self.app)
            for status in described.statuses()
        }
        routes = {(method, path) for method, path, _ in declared}
        return sorted(
            f"{method.upper()} {path} answered {status}"
            for method, path, status in self.seen - declared
            if (method, path) in routes
        )


async def data_keys(redis: Redis) -> list[str]:
    """Every key but the tenant epoch a started engine writes: what requests stored."""
    return sorted(key for key in await redis.keys("*") if not key.endswith(":epoch"))


async def post_contact_from(
    api: TestClient, external_id: str, customer: dict[str, Any], channel: str = "chat"
) -> dict[str, Any]:
    """POST a billing contact that says who its customer is; it must be queued (201)."""
    response = await api.post(
        "/v1/contacts",
        json={"channel": channel, "queue": "billing", "external_id": external_id,
              "customer": customer},
    )  # fmt: skip
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer
