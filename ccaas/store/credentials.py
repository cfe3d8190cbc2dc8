"""Agents' passwords in Redis: set one (as its hash), read the hash back to check a sign-in."""

from __future__ import annotations

from ..errors import NotFound
from .context import StoreContext
from .scripts import Reply


class CredentialRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def set_password_hash(self, agent_id: str, password_hash: str) -> int:
        """The agent's password becomes the one hashed; when (ms). NotFound if no such agent."""
        keys, now = self.ctx.keys, self.ctx.clock.now_ms()
        answer = await self.ctx.scripts.set_password(
            keys=[keys.agent(agent_id), keys.agent_credentials(agent_id), keys.events],
            args=[agent_id, password_hash, now],
        )
        if not Reply.decode(answer).ok:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        return now

    async def password_hash(self, agent_id: str) -> str | None:
        """The hash of the agent's password; None if it has none (or there is no such agent)."""
        found: str | None = await self.ctx.redis.hget(
            self.ctx.keys.agent_credentials(agent_id), "password"
        )
        return found
