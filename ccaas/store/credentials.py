"""Agents' passwords in Redis: set one (as its hash), read the hash back to check a sign-in."""

from __future__ import annotations

from ..errors import NotFound
from .context import StoreContext
from .scripts import Reply

FAILURE_WINDOW_MS = 15 * 60 * 1000  # failed sign-ins count this long after the first
MOST_FAILURES_PER_AGENT = 10  # in a window: then the agent id is refused until it ends
MOST_FAILURES_PER_ADDRESS = 50


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

    async def sign_in_wait_ms(self, agent_id: str, address: str) -> int:
        """How long sign-ins of this agent id or from this address are refused (0: not)."""
        keys = self.ctx.keys
        waits = []
        for key, most in (
            (keys.attempts("sign-in-failures:agent", agent_id), MOST_FAILURES_PER_AGENT),
            (keys.attempts("sign-in-failures:address", address), MOST_FAILURES_PER_ADDRESS),
        ):
            count = int(await self.ctx.redis.get(key) or 0)
            if count >= most:
                waits.append(max(1, int(await self.ctx.redis.pttl(key))))
        return max(waits, default=0)

    async def count_failure(self, agent_id: str, address: str) -> None:
        keys = self.ctx.keys
        await self.ctx.scripts.count_attempts(
            keys=[
                keys.attempts("sign-in-failures:agent", agent_id),
                keys.attempts("sign-in-failures:address", address),
            ],
            args=[FAILURE_WINDOW_MS],
        )

    async def password_hash(self, agent_id: str) -> str | None:
        """The hash of the agent's password; None if it has none (or there is no such agent)."""
        found: str | None = await self.ctx.redis.hget(
            self.ctx.keys.agent_credentials(agent_id), "password"
        )
        return found
