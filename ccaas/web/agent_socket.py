"""`GET /v1/agent/ws`: an agent's console over one websocket (docs/websocket.md).

The token comes as `?access_token=` (a browser cannot set headers on a websocket) or as the
Authorization header, and must be an agent's. The first frames are a snapshot, or with
`?last_seq=` what the console missed since then; every command is answered by an `ack` or
an `error` (a problem object) carrying its `id`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars

from ..desk.transfers import Transfers
from ..domain.models import Presence
from ..domain.problems import problem_object
from ..domain.roles import Role, admits
from ..domain.tokens import LEEWAY_SECONDS
from ..errors import CcaasError, InvalidInput
from ..store.callbacks import CallbackRepository
from ..store.messages import MessageRepository
from .agent_commands import (
    COMMAND,
    COMMAND_TYPES,
    AcceptCommand,
    CallbackOutcomeCommand,
    CompleteCommand,
    EndWrapUpCommand,
    MessageCommand,
    NextPresenceCommand,
    PresenceCommand,
    RejectCommand,
    TransferCommand,
)
from .agent_frames import Frame, seq_key
from .agent_hub import AgentHub, Session, snapshot_frame, stamped
from .auth import admits_roles, principal
from .services import services

log = structlog.get_logger("ccaas.console")
socket_routes = web.RouteTableDef()
HUB = web.AppKey("agent_hub", AgentHub)
MAX_FRAME_BYTES = 64 * 1024
MOST_MISSED = 1_000  # events after last_seq read to catch a console up; beyond: a snapshot
EXPIRED = 4003  # the close code of a socket whose token expired: sign in again
PING_SECONDS = 20.0  # aiohttp pings the browser this often and drops one that never answers


@socket_routes.get("/v1/agent/ws")
@admits_roles(admits(Role.AGENT))
async def agent_socket(request: web.Request) -> web.StreamResponse:
    caller = principal(request)
    svc, hub = services(request), request.app[HUB]
    await svc.agents.exists(caller.subject)  # 404 before the upgrade
    last_seq = request.query.get("last_seq", "")
    if last_seq:
        _check_seq(last_seq)
    socket = web.WebSocketResponse(heartbeat=PING_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    await socket.prepare(request)
    session = Session(caller.subject, socket)
    # the socket lives no longer than its token (and the leeway a token is checked with)
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, caller.expires_at + LEEWAY_SECONDS - time.time()),
        lambda: asyncio.ensure_future(_expired(socket)),
    )
    with bound_contextvars(agent_id=caller.subject, session=session.id):
        try:
            await hub.register(session)
            log.info("console_connected", resumed_from=last_seq or None)
            await _start(hub, session, last_seq)
            await _serve_commands(request, session)
        finally:
            expiry.cancel()
            await hub.unregister(session)
            log.info("console_disconnected", close_code=socket.close_code)
    return socket


async def _expired(socket: web.WebSocketResponse) -> None:
    log.info("console_token_expired")
    await socket.close(code=EXPIRED, message=b"sign in again")


def _check_seq(value: str) -> None:
    try:
        seq_key(value)
    except ValueError as exc:
        raise InvalidInput("last_seq must be a seq the console was sent", field="last_seq") from exc


async def _start(hub: AgentHub, session: Session, last_seq: str) -> None:
    """What the console missed since `last_seq`, else a snapshot; then live events."""
    missed = await hub.missed(session.agent_id, last_seq, MOST_MISSED) if last_seq else None
    if missed is not None:
        for event_id, fields in missed:
            frames = await hub.frames(fields)
            for n, frame in enumerate(frames):
                await session.send(stamped(frame, event_id, fields, more=n < len(frames) - 1))
        session.after = max([seq_key(last_seq), *(seq_key(e) for e, _ in missed)])
        await session.send({"type": "resumed", "seq": last_seq if not missed else missed[-1][0]})
    else:
        seq = await hub.newest_event()
        desk = await hub.cards.desk_of(session.agent_id)
        reasons = list(hub.ctx.config.away_reasons)
        await session.send(snapshot_frame(seq, desk, hub.ctx.clock.now_ms(), reasons))
        session.after = seq_key(seq)
    session.started.set()


async def _serve_commands(request: web.Request, session: Session) -> None:
    async for message in session.socket:
        if message.type is not WSMsgType.TEXT:
            if message.type is WSMsgType.BINARY:
                await session.send(_error("", InvalidInput("frames are JSON text", field="frame")))
            continue
        await session.send(await _answer(request, session, message.data))


async def _answer(request: web.Request, session: Session, text: str) -> Frame:
    command_id = ""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it can be read
        return _error(command_id, InvalidInput("the frame is not JSON", field="frame"))
    try:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            command_id = raw["id"][:64]
        if not isinstance(raw, dict) or raw.get("type") not in COMMAND_TYPES:
            raise InvalidInput(
                "a command is a JSON object whose type is one of " + ", ".join(COMMAND_TYPES),
                field="type",
            )
        command = COMMAND.validate_python(raw)
        result = await _run(request, session.agent_id, command)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        return _error(command_id, InvalidInput(f"{where}: {first['msg']}", field=where))
    except CcaasError as exc:
        return _error(command_id, exc)
    log.info("console_command", command=command.type, command_id=command_id)
    return {"type": "ack", "id": command_id, **({"result": result} if result else {})}


async def _run(request: web.Request, agent_id: str, command: Any) -> dict[str, Any] | None:
    svc = services(request)
    if isinstance(command, PresenceCommand):
        await svc.desk.choose_presence(agent_id, Presence(command.presence), command.reason)
    elif isinstance(command, NextPresenceCommand):
        chosen = Presence(command.presence) if command.presence else None
        return {"when": await svc.desk.choose_next_presence(agent_id, chosen, command.reason)}
    elif isinstance(command, AcceptCommand):
        return {"contact_id": await svc.desk.accept(command.offer_id, agent_id)}
    elif isinstance(command, RejectCommand):
        return {"contact_id": await svc.offers.reject(command.offer_id, agent_id)}
    elif isinstance(command, MessageCommand):
        posted = await MessageRepository(svc.ctx).post(
            command.contact_id, "agent", command.text, agent_id
        )
        return {"message_id": posted.message_id}
    elif isinstance(command, CompleteCommand):
        done = await svc.contacts.complete(
            command.contact_id, agent_id, command.disposition, command.notes
        )
        return {"state": done.state, "notes_discarded": done.notes_discarded}
    elif isinstance(command, EndWrapUpCommand):
        return {"ended": await svc.desk.end_wrap_up(command.contact_id, agent_id)}
    elif isinstance(command, TransferCommand):
        queue = await Transfers(svc.desk).transfer(
            command.contact_id, agent_id, command.queue or "", command.agent_id or "", command.note
        )
        return {"queue": queue}
    elif isinstance(command, CallbackOutcomeCommand):
        outcome = await CallbackRepository(svc.ctx).outcome(
            command.contact_id, agent_id, command.outcome
        )
        return {"scheduled": outcome.scheduled, "attempts": outcome.attempts}
    return None  # a ping


def _error(command_id: str, exc: CcaasError) -> Frame:
    return {"type": "error", "id": command_id, "problem": problem_object(exc)}
