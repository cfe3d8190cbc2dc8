"""REST handlers of /v1: contacts, agents, offers, queues and health."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web

from ..domain.models import Presence
from ..domain.roles import ADMIN_ONLY, EVERYONE, PUBLIC, STAFF, Role, admits
from ..errors import BadRequest, InvalidInput
from ..store.agents import AgentProfile
from ..store.health import RedisState
from .auth import require_desk
from .intake_window import intake
from .openapi import JSON_LIST, TEXT_BODY, operation, page_limit
from .problems import page_size, read_body, read_text
from .schemas import AgentActionIn, AgentIn, CompleteIn, ContactIn, PresenceIn
from .scope import require_contact_id_reader, require_contact_reader
from .services import LISTENERS, Listeners, services

log = structlog.get_logger("ccaas.web")
routes = web.RouteTableDef()
AGENTS_PAGE, MAX_AGENTS_PAGE = 100, 500
HEALTH_ANSWER_SECONDS = 1.0


@routes.get("/healthz")
@operation(
    "Whether this replica can serve: Redis reachable and holding the tenant's data",
    ok={200: "OK", 503: "Redis unreachable, stalled, or empty and being set up again"},
    needs_redis=False,  # it says itself what is wrong
    roles=PUBLIC,
)
async def healthz(request: web.Request) -> web.Response:
    ctx = services(request).ctx
    health = ctx.health
    if not health.up:
        return _unhealthy(health.state.value, health.seconds_in_state())
    try:
        async with asyncio.timeout(HEALTH_ANSWER_SECONDS):
            await ctx.redis.ping()
    except Exception:  # any failure to reach Redis is unhealthy, whatever its type
        return _unhealthy(RedisState.DOWN.value, 0.0)
    listeners: Listeners = request.app.get(LISTENERS, Listeners())
    return web.json_response(
        {"status": "ok", "redis": health.state.value, "rules_version": ctx.rules.version}
        | listeners
    )


def _unhealthy(state: str, seconds: float) -> web.Response:
    """The cause, which names Redis's address, is in the log (redis_unreachable), not here."""
    body = {
        "status": "unhealthy",
        "redis": state,
        "for_seconds": round(seconds, 2),
    }
    return web.json_response(body, status=503, headers={"Retry-After": "1"})


@routes.post("/v1/contacts")
@operation(
    "Classify and enqueue a contact (idempotent by channel + external_id)",
    body=ContactIn,
    ok={201: "OK", 200: "the same channel + external_id again: that contact, unchanged"},
    errors={
        409: "not queued: no rule takes it, or its queue is closed or full",
        429: "this replica has CCAAS_INTAKE_MAX_IN_FLIGHT new contacts under way: nothing was "
        "changed, retry after Retry-After",
    },
    roles=admits(Role.ADMIN, Role.ADAPTER),
)
@intake
async def create_contact(request: web.Request) -> web.Response:
    body = await read_body(request, ContactIn)
    svc = services(request)
    result = await svc.ingest.enqueue(body.as_new_contact())
    contact = await svc.contacts.get(result.contact_id)
    if result.created:
        log.info(
            "contact_created",
            contact_id=result.contact_id,
            queue=contact["queue"],
            channel=body.channel.value,
            dropped=[w["field"] for w in result.warnings] or None,
        )
    if result.warnings:
        contact["warnings"] = list(result.warnings)
    return web.json_response(contact, status=201 if result.created else 200)


@routes.get("/v1/contacts/{id}")
@operation(
    "A contact with its state and queue position",
    errors={404: "unknown"},
    roles=EVERYONE,
    scoped=True,
)
async def get_contact(request: web.Request) -> web.Response:
    contact = await services(request).contacts.get(request.match_info["id"])
    await require_contact_reader(request, contact)
    return web.json_response(contact)


@routes.get("/v1/contacts/{id}/explain")
@operation(
    "Why the contact is where it is: rule, score terms, relaxation steps and each candidate "
    "agent with its rank or the reason it cannot take it",
    errors={404: "unknown"},
    roles=STAFF,
)
async def explain_contact(request: web.Request) -> web.Response:
    return web.json_response(await services(request).explain.explain(request.match_info["id"]))


@routes.delete("/v1/contacts/{id}")
@operation(
    "The customer left: a contact waiting or ringing is abandoned; one an agent holds stays "
    "the agent's to complete, marked customer_left_at (the agent is told)",
    errors={404: "unknown", 409: "it ended already (completed or abandoned)"},
    roles=admits(Role.ADMIN, Role.ADAPTER),
)
async def abandon_contact(request: web.Request) -> web.Response:
    svc, contact_id = services(request), request.match_info["id"]
    await svc.contacts.abandon(contact_id)
    return web.json_response(await svc.contacts.get(contact_id))


@routes.post("/v1/contacts/{id}/complete")
@operation(
    "The agent holding a connected contact finishes it (the same completion again: 200, unchanged)",
    body=CompleteIn,
    errors={404: "unknown", 409: "not connected to this agent"},
    roles=admits(Role.ADMIN, Role.AGENT),
    scoped=True,
)
async def complete_contact(request: web.Request) -> web.Response:
    body = await read_body(request, CompleteIn)
    require_desk(request, body.agent_id)
    svc, contact_id = services(request), request.match_info["id"]
    done = await svc.contacts.complete(contact_id, body.agent_id, body.disposition, body.notes)
    contact = _as_seen_by(await svc.contacts.get(contact_id), body.agent_id)
    if done.notes_discarded:
        contact["notes_discarded"] = True  # the customer was erased: no new personal data
    return web.json_response(contact)


@routes.get("/v1/agents")
@operation(
    "Agents by id, a page at a time (?limit=1..500, default 100; ?after=the last id seen); "
    'a Link header (rel="next") names the next page',
    errors={422: "limit is not 1..500: errors[].field is limit"},
    query={"limit": page_limit(MAX_AGENTS_PAGE), "after": {"type": "string"}},
    result=JSON_LIST,
    roles=STAFF,
)
async def list_agents(request: web.Request) -> web.Response:
    limit = page_size(request, AGENTS_PAGE, MAX_AGENTS_PAGE)
    views, more = await services(request).desk.page(limit, request.query.get("after", ""))
    response = web.json_response(views)
    if more is not None:
        query = urlencode({"limit": limit, "after": more})
        response.headers["Link"] = f'</v1/agents?{query}>; rel="next"'
    return response


@routes.put("/v1/agents/{id}")
@operation(
    "Create or replace an agent's profile",
    body=AgentIn,
    ok={200: "OK", 201: "created"},
    roles=ADMIN_ONLY,
)
async def put_agent(request: web.Request) -> web.Response:
    body = await read_body(request, AgentIn)
    svc, agent_id = services(request), request.match_info["id"]
    created = await svc.agents.upsert(
        agent_id,
        AgentProfile(
            body.name,
            dict(body.skills),
            list(body.queues),
            dict(body.capacity),
            body.profile or "",
            body.voice_endpoint or "",
        ),
    )
    return web.json_response(await svc.desk.view(agent_id), status=201 if created else 200)


@routes.get("/v1/agents/{id}")
@operation(
    "An agent: presence, offers and work",
    errors={404: "unknown"},
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
    scoped=True,
)
async def get_agent(request: web.Request) -> web.Response:
    require_desk(request, request.match_info["id"])
    return web.json_response(await services(request).desk.view(request.match_info["id"]))


@routes.put("/v1/agents/{id}/presence")
@operation(
    "Set presence",
    body=PresenceIn,
    errors={404: "unknown"},
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
    scoped=True,
)
async def put_presence(request: web.Request) -> web.Response:
    body = await read_body(request, PresenceIn)
    svc, agent_id = services(request), request.match_info["id"]
    require_desk(request, agent_id)
    await svc.agents.exists(agent_id)  # 404 before any change
    await svc.desk.choose_presence(agent_id, Presence(body.presence), body.reason)
    return web.json_response(await svc.desk.view(agent_id))


@routes.post("/v1/offers/{id}/accept")
@operation(
    "The agent it rings for accepts an offer (accepting it again: 200, unchanged)",
    body=AgentActionIn,
    errors={
        404: "no such offer: never issued, or its contact does not exist",
        409: "not ringing for this agent: it ended, or rings for another",
        422: "not an offer id, or no agent_id",
    },
    roles=admits(Role.ADMIN, Role.AGENT),
    scoped=True,
)
async def accept_offer(request: web.Request) -> web.Response:
    body = await read_body(request, AgentActionIn)
    require_desk(request, body.agent_id)
    svc = services(request)
    contact_id = await svc.desk.accept(request.match_info["id"], body.agent_id)
    return web.json_response(_as_seen_by(await svc.contacts.get(contact_id), body.agent_id))


@routes.post("/v1/offers/{id}/reject")
@operation(
    "The agent it rings for rejects an offer (rejecting it again: 200, unchanged)",
    body=AgentActionIn,
    errors={
        404: "no such offer: never issued, or its contact does not exist",
        409: "not ringing for this agent: it ended, or rings for another",
        422: "not an offer id, or no agent_id",
    },
    roles=admits(Role.ADMIN, Role.AGENT),
    scoped=True,
)
async def reject_offer(request: web.Request) -> web.Response:
    body = await read_body(request, AgentActionIn)
    require_desk(request, body.agent_id)
    svc = services(request)
    contact_id = await svc.offers.reject(request.match_info["id"], body.agent_id)
    return web.json_response(_as_seen_by(await svc.contacts.get(contact_id), body.agent_id))


_ANOTHER_AGENTS = ("agent_id", "offer_id", "offered_at", "offer_expires_at")


def _as_seen_by(contact: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """The contact as the agent who just answered it may see it: once it rings for someone
    else (offered again after a reject, in a race), not that agent's offer."""
    if contact.get("agent_id") in (None, "", agent_id):
        return contact
    return {name: value for name, value in contact.items() if name not in _ANOTHER_AGENTS}


@routes.get("/v1/queues")
@operation(
    "Live figures of every queue",
    result=JSON_LIST,
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
)
async def list_queues(request: web.Request) -> web.Response:
    return web.json_response(await services(request).queues.stats())


@routes.get("/v1/queues/{name}")
@operation(
    "Live figures of one queue",
    errors={404: "unknown"},
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
)
async def get_queue(request: web.Request) -> web.Response:
    stats = await services(request).queues.stats(request.match_info["name"])
    return web.json_response(stats[0])


MAX_BODY_TEXT = 512 * 1024  # a long chat transcript or an email with its quoted thread
BODY_KINDS = ("transcript", "email", "message")


@routes.put("/v1/contacts/{id}/body")
@operation(
    "Keep the contact's long body (text, ≤ 512 KiB; ?kind=transcript|email|message)",
    body=TEXT_BODY,
    query={"kind": {"type": "string", "enum": list(BODY_KINDS)}},
    errors={
        400: "empty or not UTF-8",
        404: "unknown",
        409: "its customer was erased: it takes no body",
        413: "too large",
        422: "an unknown kind: errors[].field is kind",
    },
    roles=admits(Role.ADMIN, Role.ADAPTER),
)
async def put_contact_body(request: web.Request) -> web.Response:
    kind = request.query.get("kind", "transcript")
    if kind not in BODY_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(BODY_KINDS)}", field="kind")
    text = await read_text(request, MAX_BODY_TEXT)
    if not text:
        raise BadRequest("the body is empty: send the transcript or message as text")
    svc, contact_id = services(request), request.match_info["id"]
    await svc.contacts.attach_body(contact_id, text, kind)
    return web.json_response(await svc.contacts.get(contact_id))


@routes.get("/v1/contacts/{id}/body")
@operation(
    "The contact's long body as text",
    errors={404: "unknown or none"},
    result=TEXT_BODY,
    roles=EVERYONE,
    scoped=True,
)
async def get_contact_body(request: web.Request) -> web.Response:
    svc, contact_id = services(request), request.match_info["id"]
    await require_contact_id_reader(request, contact_id)
    text = await svc.contacts.body(contact_id)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
