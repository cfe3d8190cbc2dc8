"""Agents in Redis: profile upsert, presence changes and reads."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..domain.models import AgentView, Channel, Presence
from ..domain.rules.compiled import CompiledRules
from ..domain.values import MAX_LEVEL, MIN_LEVEL, did_you_mean
from ..errors import InvalidInput, NotFound
from .context import StoreContext
from .records.agent import AgentRecord
from .scripts import Reply

AGENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # no ":": it separates key parts


@dataclass(frozen=True, slots=True)
class AgentProfile:
    name: str
    skills: dict[str, int] = field(default_factory=dict)
    queues: list[str] = field(default_factory=list)
    capacity: dict[Channel, int] = field(default_factory=dict)
    profile: str = ""
    voice_endpoint: str = ""  # where a call the agent accepts is put through ("" none)


@dataclass(frozen=True, slots=True)
class PresenceSet:
    """The presence before, and the contacts still ringing or in wrap-up for the agent."""

    before: str
    ringing: tuple[str, ...]
    wrapping: tuple[str, ...]


class AgentRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def _check(self, agent_id: str, profile: AgentProfile) -> None:
        if not AGENT_ID.fullmatch(agent_id):
            raise InvalidInput(
                f"agent id {agent_id!r} must be 1..64 of letters, digits, '_', '-', '.'",
                field="id",
            )
        config = self.ctx.config
        if profile.profile and profile.profile not in config.profiles:
            raise InvalidInput(
                f"unknown routing profile {profile.profile!r}"
                + did_you_mean(profile.profile, config.profiles),
                field="profile",
            )
        for queue in profile.queues:
            if queue not in config.queues:
                raise InvalidInput(
                    f"unknown queue {queue!r}" + did_you_mean(queue, config.queues), field="queues"
                )
        for skill, level in profile.skills.items():
            if config.skills is not None and skill not in config.skills:
                raise InvalidInput(
                    f"unknown skill {skill!r}" + did_you_mean(skill, config.skills),
                    field=f"skills.{skill}",
                )
            if not MIN_LEVEL <= level <= MAX_LEVEL:
                raise InvalidInput(
                    f"skill {skill!r} level {level} is outside {MIN_LEVEL}..{MAX_LEVEL}",
                    field=f"skills.{skill}",
                )

    async def upsert(self, agent_id: str, profile: AgentProfile) -> bool:
        """Create or replace the agent's profile; True when it was created."""
        self._check(agent_id, profile)
        keys = self.ctx.keys
        answer = await self.ctx.scripts.upsert_agent(
            keys=[
                keys.agent(agent_id),
                keys.agents,
                keys.agent_changes,
                keys.events,
                keys.wake_pending,
            ],
            args=[
                agent_id,
                profile.name,
                json.dumps(profile.skills, sort_keys=True),
                json.dumps(sorted(set(profile.queues))),
                json.dumps({ch.value: n for ch, n in profile.capacity.items()}, sort_keys=True),
                self.ctx.clock.now_ms(),
                profile.profile,
                keys.wake_channel,
                profile.voice_endpoint,
            ],
        )
        (created,) = Reply.decode(answer).values
        return bool(created)

    async def read_many(
        self, agent_ids: Sequence[str]
    ) -> list[tuple[dict[str, str], dict[str, str]]]:
        """Each agent's hash and work hash (both empty for an unknown agent), in one trip."""
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.hgetall(keys.agent(agent_id))
                pipe.hgetall(keys.agent_work(agent_id))
            replies = await pipe.execute()
        return list(zip(replies[::2], replies[1::2], strict=True))

    async def exists(self, agent_id: str) -> None:
        """NotFound unless the agent exists."""
        if not await self.ctx.redis.exists(self.ctx.keys.agent(agent_id)):
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)

    async def views(self, agent_ids: set[str], rules: CompiledRules) -> dict[str, AgentView]:
        """The routing view under `rules` of those of `agent_ids` who exist, in one trip."""
        wanted = sorted(agent_ids)
        if not wanted:
            return {}
        rows = await self.read_many(wanted)
        return {
            agent_id: AgentRecord.decode(raw, work).view(rules)
            for agent_id, (raw, work) in zip(wanted, rows, strict=True)
            if raw
        }

    async def ids(self) -> list[str]:
        return sorted(await self.ctx.redis.smembers(self.ctx.keys.agents))

    async def ringing(self, agent_id: str) -> list[str]:
        """The contacts whose offers ring for the agent now."""
        work = await self.ctx.redis.hgetall(self.ctx.keys.agent_work(agent_id))
        return [contact_id for contact_id, entry in work.items() if entry.startswith("offered:")]

    async def set_next_presence(self, agent_id: str, presence: str, reason: str = "") -> str:
        """The presence the agent takes when its work ends ("" takes it back): "later" (kept
        until then), "now" (it holds no work: set it now) or "cleared"."""
        keys, now = self.ctx.keys, self.ctx.clock.now_ms()
        answer = await self.ctx.scripts.set_next_presence(
            keys=[keys.agent(agent_id), keys.agent_work(agent_id), keys.agent_changes, keys.events],
            args=[agent_id, presence, reason, now],
        )
        result = Reply.decode(answer)
        if not result.ok:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        return str(result.values[0])

    async def set_presence(
        self, agent_id: str, presence: Presence, reason: str = ""
    ) -> PresenceSet:
        """Set what the agent says it is (the caller follows up on ringing and wrap-ups)."""
        keys, now = self.ctx.keys, self.ctx.clock.now_ms()
        answer = await self.ctx.scripts.set_presence(
            keys=[
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.agents_available,
                keys.agent_changes,
                keys.events,
                keys.wake_pending,
            ],
            args=[agent_id, presence.value, reason, now, keys.wake_channel],
        )
        result = Reply.decode(answer)
        if not result.ok:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        before, ringing, wrapping = result.values
        return PresenceSet(str(before), tuple(ringing), tuple(wrapping))
