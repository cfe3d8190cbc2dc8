"""Agents' console sessions in Redis: one per agent, kept alive by the replica holding it,
and an agent whose session is gone for a grace period is found for going offline."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import NotFound
from .context import StoreContext
from .scripts import Reply


class SessionRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def open(self, agent_id: str, session_id: str, deadline_ms: int) -> str:
        """The agent's session is this one now; the one it replaced ("" if none)."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.open_session(
            keys=[keys.agent(agent_id), keys.agent_sessions, keys.session_deadlines],
            args=[agent_id, session_id, deadline_ms, keys.sessions_channel],
        )
        reply = Reply.decode(answer)
        if not reply.ok:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        return str(reply.values[0])

    async def keep(self, sessions: Sequence[tuple[str, str, int]]) -> list[tuple[str, str]]:
        """(agent id, session id, deadline ms) of the sessions a replica holds; returns
        (agent id, session id) of those another session replaced."""
        if not sessions:
            return []
        keys = self.ctx.keys
        args = [value for session in sessions for value in session]
        answer = await self.ctx.scripts.keep_sessions(
            keys=[keys.agent_sessions, keys.session_deadlines], args=args
        )
        stale = list(Reply.decode(answer).values[0])
        return list(zip(stale[0::2], stale[1::2], strict=True))

    async def due(self, now_ms: int, limit: int = 100) -> list[str]:
        """Agents whose session deadline passed."""
        found: list[str] = await self.ctx.redis.zrangebyscore(
            self.ctx.keys.session_deadlines, "-inf", now_ms, start=0, num=limit
        )
        return found

    async def end(self, agent_id: str, now_ms: int) -> bool:
        """Forget the agent's session if its deadline passed (False: it came back)."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.end_session(
            keys=[keys.agent_sessions, keys.session_deadlines], args=[agent_id, now_ms]
        )
        return Reply.decode(answer).ok

    async def current(self, agent_id: str) -> str:
        found: str | None = await self.ctx.redis.hget(self.ctx.keys.agent_sessions, agent_id)
        return found or ""
