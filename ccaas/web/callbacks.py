"""Callbacks over HTTP: a waiting contact of any channel becomes a call back to a number."""

from __future__ import annotations

import structlog
from aiohttp import web

from ..domain.identity import InvalidIdentity, normalise_phone
from ..domain.roles import Role, admits
from ..errors import InvalidInput
from ..store.callbacks import CallbackRepository
from .auth import require_desk
from .openapi import operation
from .problems import read_body
from .schemas import CallbackIn, CallbackOutcomeIn
from .services import services

log = structlog.get_logger("ccaas.web")
callback_routes = web.RouteTableDef()


@callback_routes.post("/v1/contacts/{id}/callback")
@operation(
    "A waiting customer leaves the line and is called back: the contact keeps its place",
    body=CallbackIn,
    ok={
        201: "it is a callback now",
        200: "it was already, or the number's active callback in the queue is another "
        "contact: that contact",
    },
    errors={
        404: "unknown contact",
        409: "the contact rings for an agent, is held or ended, or its customer was erased",
    },
    roles=admits(Role.ADMIN, Role.ADAPTER),
)
async def request_callback(request: web.Request) -> web.Response:
    body = await read_body(request, CallbackIn)
    svc = services(request)
    try:
        number = normalise_phone(body.number, svc.ctx.config.phone_region)
    except InvalidIdentity as exc:
        raise InvalidInput(str(exc), field="number") from exc
    contact_id = request.match_info["id"]
    callback = await CallbackRepository(svc.ctx).request(contact_id, number)
    if callback.created:
        log.info("callback_requested", contact_id=contact_id)
    contact = await svc.contacts.get(callback.contact_id)
    return web.json_response(contact, status=201 if callback.created else 200)


@callback_routes.post("/v1/contacts/{id}/callback/outcome")
@operation(
    "The agent who called a callback back says how it went: reached, no_answer, busy, invalid",
    body=CallbackOutcomeIn,
    errors={
        404: "unknown contact",
        409: "not connected to this agent, or the contact is no callback",
    },
    roles=admits(Role.ADMIN, Role.AGENT),
    scoped=True,
)
async def callback_outcome(request: web.Request) -> web.Response:
    body = await read_body(request, CallbackOutcomeIn)
    require_desk(request, body.agent_id)
    contact_id = request.match_info["id"]
    outcome = await CallbackRepository(services(request).ctx).outcome(
        contact_id, body.agent_id, body.outcome
    )
    log.info(
        "callback_outcome",
        contact_id=contact_id,
        agent_id=body.agent_id,
        outcome=body.outcome,
        scheduled=outcome.scheduled,
    )
    return web.json_response(
        {"scheduled": outcome.scheduled, "attempts": outcome.attempts, "due_at": outcome.due_at}
    )
