"""The customer's side of web chat: the widget (one <script> tag on any site, and a page of
its own at /chat), starting a conversation, and the customer's websocket with its
conversation token (GET /v1/chat/ws): place and wait while waiting, the agent's name once
connected, messages both ways, and closing it (which abandons or ends the contact)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import structlog
from aiohttp import WSMsgType, web
from pydantic import Field, ValidationError

from ..domain.chat_tokens import ChatTokens, user_is_verified
from ..domain.intake import NewContact
from ..domain.models import Channel
from ..domain.problems import invalid_input, json_object, problem_object
from ..domain.roles import PUBLIC
from ..errors import CcaasError, ChatThrottled, Conflict, InvalidInput, NotFound
from ..ingest.payloads import MAX_MESSAGE_TEXT, Strict
from ..store.chat_starts import ChatStarts
from ..store.contacts import ContactRepository
from ..store.messages import MessageRepository
from .auth import admits_roles
from .chat_hub import ChatHub, Customer
from .intake_window import intake
from .openapi import operation
from .problems import read_body
from .services import services

log = structlog.get_logger("ccaas.chat")
chat_routes = web.RouteTableDef()
ROUTE = "webchat"  # web chat contacts: agents' messages reach the customer over the socket


@dataclass(frozen=True, slots=True)
class ChatSettings:
    identity_secret: str = ""  # a site's signed-in users are believed with its HMAC


CHAT_HUB = web.AppKey("chat_hub", ChatHub)
CHAT_TOKENS = web.AppKey("chat_tokens", ChatTokens)
CHAT_SETTINGS = web.AppKey("chat_settings", ChatSettings)
TOKEN_HOURS = 24
MAX_FRAME = 16 * 1024
_STATIC = resources.files("ccaas.web") / "static" / "chat"
CORS = {
    "Access-Control-Allow-Origin": "*",  # no cookie is used: the token is the only key
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


class ConversationIn(Strict):
    """A customer starts a chat. A site's signed-in user is believed only with user_hash."""

    name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    text: str | None = Field(None, min_length=1, max_length=MAX_MESSAGE_TEXT)
    visitor_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    user_id: str | None = Field(None, min_length=1, max_length=128)
    user_hash: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")


class CustomerFrame(Strict):
    type: Literal["message", "close", "read", "ping"]
    id: str = Field("", max_length=64)
    text: str | None = Field(None, min_length=1, max_length=MAX_MESSAGE_TEXT)
    message_id: str | None = Field(None, max_length=40)


def _page(name: str, content_type: str) -> web.Response:
    response = web.Response(body=(_STATIC / name).read_bytes(), content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    return response


@chat_routes.get("/chat")
@admits_roles(PUBLIC)
async def chat_page(request: web.Request) -> web.Response:
    response = _page("index.html", "text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self' ws: wss:; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@chat_routes.get("/chat/widget.js")
@admits_roles(PUBLIC)
async def chat_widget(request: web.Request) -> web.Response:
    response = _page("widget.js", "text/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@chat_routes.options("/v1/chat/conversations")
@admits_roles(PUBLIC)
async def conversations_preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


@chat_routes.post("/v1/chat/conversations")
@operation(
    "A customer starts a web chat: the contact, and the token of its conversation",
    body=ConversationIn,
    ok=201,
    errors={
        409: "no queue takes web chat now (closed, full, or no rule)",
        429: "too many chats started from this address lately, or this replica has "
        "CCAAS_INTAKE_MAX_IN_FLIGHT new contacts under way: retry after Retry-After",
    },
    roles=PUBLIC,
)
@intake
async def start_conversation(request: web.Request) -> web.Response:
    body = await read_body(request, ConversationIn)
    svc = services(request)
    settings = request.app[CHAT_SETTINGS]
    verified = user_is_verified(settings.identity_secret, body.user_id or "", body.user_hash or "")
    if body.user_id and not verified:
        raise InvalidInput(
            "user_hash does not sign user_id (HMAC-SHA256 with the site's identity secret)",
            field="user_hash",
        )
    address = request.remote or "unknown"
    if not await ChatStarts(svc.ctx).allowed(address, body.visitor_id or ""):
        raise ChatThrottled(
            "too many chats started from here lately; try again in a few minutes",
            retry_after=ChatStarts.WINDOW_SECONDS,
        )
    customer: dict[str, Any] = {}
    # what the browser types is shown to the agent, never trusted as an identity: anyone can
    # type anyone's email. A site vouches (user_hash) for its user's id only.
    attributes: dict[str, Any] = {"provider": "web"}
    attributes.update(
        {k: v for k, v in (("given_name", body.name), ("given_email", body.email)) if v}
    )
    if verified:
        customer["login"] = body.user_id
        if body.name:
            customer["name"] = body.name
    elif body.visitor_id:
        customer["visitor"] = body.visitor_id
    # one browser (or signed-in user) has one open chat: starting again gives the same one
    who = (
        f"login:{body.user_id}"
        if verified
        else (f"visitor:{body.visitor_id}" if body.visitor_id else "")
    )
    contacts = ContactRepository(svc.ctx)
    contact_id, external_id = (
        await contacts.conversation(ROUTE, who)
        if who
        else (None, "web:" + secrets.token_urlsafe(12))
    )
    if contact_id is None:
        result = await svc.ingest.enqueue(
            NewContact(
                channel=Channel.CHAT,
                external_id=external_id,
                customer=customer or None,
                attributes=attributes,
                delivered_by=ROUTE,
            )
        )
        contact_id = result.contact_id
        if who:
            await contacts.remember_conversation(ROUTE, who, contact_id)
    if body.text:
        await MessageRepository(svc.ctx).post(contact_id, "customer", body.text)
    expires = svc.ctx.clock.now_ms() + TOKEN_HOURS * 3600 * 1000
    token = request.app[CHAT_TOKENS].make(contact_id, expires)
    log.info("chat_started", contact_id=contact_id, verified=verified)
    return web.json_response(
        {"conversation_id": contact_id, "token": token, "expires_at": expires},
        status=201,
        headers=CORS,
    )


@chat_routes.get("/v1/chat/ws")
@admits_roles(PUBLIC)
async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    svc = services(request)
    contact_id = request.app[CHAT_TOKENS].read(
        request.query.get("token", ""), svc.ctx.clock.now_ms()
    )
    await ContactRepository(svc.ctx).raw(contact_id)  # 404 before the upgrade
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await socket.prepare(request)
    hub = request.app[CHAT_HUB]
    customer = Customer(contact_id, socket)
    hub.join(customer)
    try:
        await customer.send(await hub.snapshot(customer))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                break
            answer = await _command(svc.ctx, customer, frame.data)
            if answer is not None:
                await customer.send(answer)
    finally:
        hub.leave(customer)
    return socket


async def _command(ctx: Any, customer: Customer, data: str) -> dict[str, Any] | None:
    command_id = ""
    try:
        try:
            command = CustomerFrame.model_validate(json_object(data.encode()))
        except ValidationError as exc:
            raise invalid_input(exc) from exc
        command_id = command.id
        if command.type == "ping":
            return {"type": "pong", "id": command_id}
        messages = MessageRepository(ctx)
        if command.type == "message":
            if not command.text:
                raise InvalidInput("a message needs its text", field="text")
            reference = f"web:{command.id}" if command.id else ""
            posted = await messages.post(
                customer.contact_id, "customer", command.text, reference=reference
            )
            return {"type": "ack", "id": command_id, "message_id": posted.message_id}
        if command.type == "read":
            with contextlib.suppress(NotFound):
                await messages.mark_delivery(customer.contact_id, command.message_id or "", "read")
            return {"type": "ack", "id": command_id}
        # close: the customer leaves (waiting: abandoned; held: the agent is told); one that
        # ended already stays as it is
        with contextlib.suppress(Conflict):
            await ContactRepository(ctx).abandon(customer.contact_id)
        await customer.send({"type": "ack", "id": command_id})
        await customer.send({"type": "ended", "reason": "closed"})
        await asyncio.sleep(0)
        await customer.socket.close()
        return None
    except CcaasError as exc:
        return {"type": "error", "id": command_id, "problem": problem_object(exc)}
