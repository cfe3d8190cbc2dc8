"""Conversations over HTTP: an adapter posts the customer's messages; the holders read them."""

from __future__ import annotations

import re

import structlog
from aiohttp import web

from ..domain.roles import EVERYONE, Role, admits
from ..errors import InvalidInput
from ..store.messages import PAGE, MessageRepository
from .openapi import JSON_LIST, operation, page_limit
from .problems import page_size, read_body
from .schemas import MessageIn
from .scope import require_contact_id_reader
from .services import services

log = structlog.get_logger("ccaas.web")
message_routes = web.RouteTableDef()
_MESSAGE_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


@message_routes.post("/v1/contacts/{id}/messages")
@operation(
    "The customer's side of a chat, social or email conversation: a message arrives",
    body=MessageIn,
    ok={201: "OK", 200: "the same message_id again: that message, unchanged"},
    errors={
        404: "unknown contact",
        409: "a voice contact, one that ended, or one whose customer was erased",
    },
    roles=admits(Role.ADMIN, Role.ADAPTER),
)
async def post_message(request: web.Request) -> web.Response:
    body = await read_body(request, MessageIn)
    contact_id = request.match_info["id"]
    repo = MessageRepository(services(request).ctx)
    posted = await repo.post(contact_id, body.sender, body.text, reference=body.message_id or "")
    if posted.added:
        log.info("message_posted", contact_id=contact_id, message_id=posted.message_id)
    return web.json_response(
        await repo.one(contact_id, posted.message_id), status=201 if posted.added else 200
    )


@message_routes.get("/v1/contacts/{id}/messages")
@operation(
    f"The contact's conversation, oldest first, {PAGE} at most (?after=the last id seen)",
    errors={404: "unknown contact", 422: "after is not a message id, or a bad limit"},
    query={"after": {"type": "string"}, "limit": page_limit(PAGE)},
    result=JSON_LIST,
    roles=EVERYONE,
    scoped=True,
)
async def get_messages(request: web.Request) -> web.Response:
    contact_id = request.match_info["id"]
    after = request.query.get("after", "")
    if after and not _MESSAGE_ID.fullmatch(after):
        raise InvalidInput("after must be a message id such as 1733059200000-0", field="after")
    limit = page_size(request, PAGE, PAGE)
    svc = services(request)
    await require_contact_id_reader(request, contact_id)
    await svc.contacts.get(contact_id)  # 404 for a contact that never was
    return web.json_response(await MessageRepository(svc.ctx).read(contact_id, after, limit))
