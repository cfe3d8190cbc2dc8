"""The agents' consoles this replica holds, fed from the tenant's event stream in Redis.

Every replica follows the stream (so an event reaches the console wherever it is connected)
and hands each event naming an agent to that agent's session here, if it has one. A session
turns its events into frames in order, on its own task, filling in what it reads (the
contact's card, the message), and drops those its snapshot already showed. The hub also keeps
the sessions alive in Redis and closes one that a sign-in elsewhere replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSCloseCode, web
from redis.exceptions import RedisError

from ..desk.cards import Cards
from ..desk.service import Desk
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from ..store.sessions import SessionRepository
from .agent_frames import Frame, bare_frames, seq_key

log = structlog.get_logger("ccaas.console")
KEEP_SECONDS = 10.0  # a replica renews its sessions' deadlines this often
READ_BLOCK_MS = 500  # well inside the client's socket timeout (1 s): a block is no stall
READ_BATCH = 1000
REPLACED = 4001  # the websocket close code of a session a newer sign-in replaced
Event = tuple[str, dict[str, str]]


@dataclass(eq=False)
class Session:
    """One agent's console on this replica."""

    agent_id: str
    socket: web.WebSocketResponse
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    after: tuple[int, int] = (0, 0)  # events up to here are in what the console was sent
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    started: asyncio.Event = field(default_factory=asyncio.Event)  # snapshot or replay sent
    registered: bool = False  # Redis recorded it (a failed registration records no close)

    async def send(self, frame: Frame) -> None:
        if not self.socket.closed:
            await self.socket.send_str(json.dumps(frame, separators=(",", ":")))


class AgentHub:
    def __init__(self, ctx: StoreContext, grace_seconds: float) -> None:
        self.ctx = ctx
        self.grace_ms = int(grace_seconds * 1000)
        self.sessions: dict[str, Session] = {}
        self.store = SessionRepository(ctx)
        self.cards = Cards(Desk(ctx))
        self.messages = MessageRepository(ctx)
        self._senders: dict[Session, asyncio.Task[None]] = {}
        # set once the follower knows where it reads from: a session registered before
        # could miss the events between its snapshot and that point
        self.following = asyncio.Event()
        self._read_from = ""  # the last event handed on; kept when the duty is restarted
        self._closed: list[tuple[str, str, int]] = []  # sessions closed, not yet recorded
        self._opening: dict[str, asyncio.Lock] = {}  # one registration of an agent at a time
        self._recording: asyncio.Task[None] | None = None
        # others fed from the same read of the stream (the web chat's customers)
        self.listeners: list[Callable[[str, dict[str, str]], None]] = []

    # --- life -------------------------------------------------------------------------------
    def start(self, supervise: Callable[[str, Callable[[], Awaitable[None]]], None]) -> None:
        """Start following the stream, keeping sessions and hearing of replacements, each as
        a supervised duty (`supervise(name, duty)`)."""
        supervise("console_events", self._follow)
        supervise("console_sessions", self._keep)
        supervise("console_replacements", self._hear_replacements)

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session.socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stops")

    # --- sessions ---------------------------------------------------------------------------
    def live_deadline(self) -> int:
        """While connected, the agent stays signed in this long even if this replica dies."""
        return self.ctx.clock.now_ms() + self.grace_ms + int(2 * KEEP_SECONDS * 1000)

    async def register(self, session: Session) -> None:
        """The session receives its agent's events from now on (queued until it started);
        an older session of the agent is replaced, here or on another replica. Redis records
        the new session before this replica closes an older one, one registration of an
        agent at a time, so the order Redis keeps is the order consoles are closed in."""
        await self.following.wait()
        lock = self._opening.setdefault(session.agent_id, asyncio.Lock())
        async with lock:
            await self.store.open(session.agent_id, session.id, self.live_deadline())
            session.registered = True
            older = self.sessions.get(session.agent_id)
            self.sessions[session.agent_id] = session
            self._senders[session] = asyncio.create_task(self._send_events(session))
        if older is not None and older is not session:
            await self._replace(older)

    async def unregister(self, session: Session) -> None:
        """The console went: the agent goes offline after the grace unless it comes back.
        Consoles that close together (a replica stopping, a network cut) are recorded in one
        call, so that thousands of them do not queue for Redis's connections."""
        sender = self._senders.pop(session, None)
        if sender is not None:
            sender.cancel()
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]
        if not session.registered:
            return
        deadline = self.ctx.clock.now_ms() + self.grace_ms
        self._closed.append((session.agent_id, session.id, deadline))
        if self._recording is None:
            self._recording = asyncio.create_task(self._record_closes())
        await asyncio.shield(self._recording)

    async def _record_closes(self) -> None:
        await asyncio.sleep(0)  # the others closing now join this call
        closed, self._closed = self._closed, []
        self._recording = None  # a console closing from now on starts the next call
        try:
            await self.store.keep(closed)
        except RedisError:  # the live deadline stands: offline within the grace + 20 s
            log.warning("session_closes_unrecorded", sessions=len(closed))

    async def _replace(self, session: Session) -> None:
        log.info("session_replaced", agent_id=session.agent_id, session=session.id)
        with contextlib.suppress(Exception):
            await session.send({"type": "session_replaced"})
            await session.socket.close(code=REPLACED, message=b"signed in elsewhere")

    # --- frames -----------------------------------------------------------------------------
    async def frames(self, fields: dict[str, str]) -> list[Frame]:
        """The frames one event makes, filled in; what is gone meanwhile is left out."""
        made: list[Frame] = []
        for frame in bare_frames(fields):
            kind = frame["type"]
            if kind in ("offer", "connected", "wrap_up", "card"):
                card = await self.cards.card(frame["contact_id"])
                if card is None:
                    continue
                if kind == "wrap_up":
                    if card.get("state") != "wrap_up":
                        continue  # completed at once: wrap_up_ended follows
                    frame["deadline"] = card.get("wrap_up_until")
                    frame["remaining_ms"] = max(
                        0, int(card.get("wrap_up_until") or 0) - self.ctx.clock.now_ms()
                    )
                if kind == "offer":
                    if card.get("offer_id") != frame["offer_id"]:
                        continue  # it rang out or was taken back before we read it
                    frame["deadline"] = card.get("offer_expires_at")
                    frame["remaining_ms"] = max(
                        0, int(card.get("offer_expires_at") or 0) - self.ctx.clock.now_ms()
                    )
                frame["card"] = card
            elif kind == "message":
                message = await self.messages.one(frame["contact_id"], frame.pop("message_id"))
                if message is None:
                    continue
                frame["message"] = message
            elif kind == "delivery" and frame.get("state") == "failed":
                # the reason is kept with the message (erased with it), never in the event
                message = await self.messages.one(frame["contact_id"], frame["message_id"])
                frame["reason"] = (message or {}).get("delivery_reason", "")
            made.append(frame)
        return made

    async def _send_events(self, session: Session) -> None:
        """Send the session's events as frames, in order. A frame that cannot be made (Redis
        away) is not skipped: the socket is closed, and the console, resuming from the last
        seq it applied, is sent it again."""
        await session.started.wait()
        try:
            while True:
                event_id, fields = await session.events.get()
                if seq_key(event_id) <= session.after:
                    continue
                frames = await self.frames(fields)
                for n, frame in enumerate(frames):
                    await session.send(stamped(frame, event_id, fields, more=n < len(frames) - 1))
                session.after = seq_key(event_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("console_frames_stopped", agent_id=session.agent_id, exc_info=True)
            with contextlib.suppress(Exception):
                await session.socket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"resume")

    # --- duties -----------------------------------------------------------------------------
    async def _follow(self) -> None:
        """Hand every event naming an agent with a session here to that session. Restarted
        after an error (Redis away), it goes on from the last event it handed on."""
        stream = self.ctx.keys.events
        if not self._read_from:
            self._read_from = await self.newest_event()
        self.following.set()
        while True:
            reply = await self.ctx.redis.xread(
                {stream: self._read_from}, count=READ_BATCH, block=READ_BLOCK_MS
            )
            for _, entries in reply or []:
                for event_id, fields in entries:
                    self._read_from = event_id
                    session = self.sessions.get(fields.get("agent", ""))
                    if session is not None:
                        session.events.put_nowait((event_id, fields))
                    for listener in self.listeners:
                        listener(event_id, fields)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(KEEP_SECONDS)
            deadline = self.live_deadline()
            held = [(s.agent_id, s.id, deadline) for s in self.sessions.values()]
            for agent_id, session_id in await self.store.keep(held):
                session = self.sessions.get(agent_id)
                if session is not None and session.id == session_id:
                    await self._replace(session)  # its replacement's message was lost

    async def _hear_replacements(self) -> None:
        pubsub = self.ctx.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.ctx.keys.sessions_channel)
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None or not isinstance(message.get("data"), str):
                    continue
                agent_id, _, session_id = message["data"].partition("\t")
                session = self.sessions.get(agent_id)
                if session is not None and session.id == session_id:
                    await self._replace(session)
        finally:
            await pubsub.aclose()

    # --- what a new console is sent first -----------------------------------------------------
    async def newest_event(self) -> str:
        newest = await self.ctx.redis.xrevrange(self.ctx.keys.events, count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def missed(self, agent_id: str, last_seq: str, most: int) -> list[Event] | None:
        """The agent's events after `last_seq`, or None when they cannot all be told (the
        stream was trimmed past it, or more than `most` events followed it)."""
        stream = self.ctx.keys.events
        oldest = await self.ctx.redis.xrange(stream, count=1)
        if oldest and seq_key(oldest[0][0]) > seq_key(last_seq):
            return None
        entries = await self.ctx.redis.xrange(stream, f"({last_seq}", "+", count=most + 1)
        if len(entries) > most:
            return None
        return [
            (event_id, fields) for event_id, fields in entries if fields.get("agent") == agent_id
        ]


def stamped(frame: Frame, event_id: str, fields: dict[str, str], more: bool = False) -> Frame:
    """A frame with its event's `seq` and `ts` (when it happened: µs since the epoch). An
    event of two frames marks the first `more`: a console keeps the seq only from the last."""
    ts = fields.get("ts", "")
    stamp: Frame = {"seq": event_id, **({"ts": int(ts)} if ts.isdigit() else {})}
    return {**frame, **stamp, **({"more": True} if more else {})}


def snapshot_frame(seq: str, desk: dict[str, Any], now_ms: int, away_reasons: list[str]) -> Frame:
    """The first frame of a console: the agent, its ringing offers and its work."""
    offers, work = [], []
    for card in desk["work"]:
        if card.get("state") == "offered":
            remaining = max(0, int(card.get("offer_expires_at") or 0) - now_ms)
            offers.append(
                {"offer_id": card.get("offer_id"), "contact_id": card["contact_id"],
                 "deadline": card.get("offer_expires_at"), "remaining_ms": remaining,
                 "card": card}
            )  # fmt: skip
        else:
            if card.get("state") == "wrap_up":
                remaining = max(0, int(card.get("wrap_up_until") or 0) - now_ms)
                card = {**card, "wrap_up_remaining_ms": remaining}
            work.append(card)
    return {
        "type": "snapshot",
        "seq": seq,
        "agent": desk["agent"],
        "away_reasons": away_reasons,
        "offers": offers,
        "work": work,
    }
