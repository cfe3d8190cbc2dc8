"""Presence follows the console: an agent whose last console has been gone for the grace
period goes offline, and its ringing offers are withdrawn (their contacts keep their places)."""

from __future__ import annotations

import asyncio

import structlog

from ..domain.models import Presence
from ..store.agents import AgentRepository
from ..store.context import StoreContext
from ..store.sessions import SessionRepository
from .service import Desk

log = structlog.get_logger("ccaas.desk")
DISCONNECTED = "disconnected"  # the away reason the engine gives; offline keeps it for the log
CHECK_SECONDS = 0.5


class SessionReaper:
    """Every replica runs one; ending a session is atomic, so each agent goes offline once."""

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.sessions = SessionRepository(ctx)
        self.agents = AgentRepository(ctx)
        self.desk = Desk(ctx)

    async def run(self) -> None:
        while True:
            await self.reap()
            await asyncio.sleep(CHECK_SECONDS)

    async def reap(self) -> list[str]:
        """Set offline every agent whose session deadline passed; those it set."""
        now = self.ctx.clock.now_ms()
        gone = []
        for agent_id in await self.sessions.due(now):
            if not await self.sessions.end(agent_id, now):
                continue  # its console came back meanwhile
            before = await self.desk.set_presence(agent_id, Presence.OFFLINE, DISCONNECTED)
            log.info("agent_disconnected", agent_id=agent_id, presence_before=before)
            gone.append(agent_id)
        return gone
