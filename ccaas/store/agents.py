"""Agents in Redis: profile upsert, presence changes (withdrawing ringing offers) and reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..domain.models import MAX_LEVEL, MIN_LEVEL, Channel, Presence
from ..domain.references import did_you_mean
from ..errors import InvalidInput, NotFound
from .contacts import ContactRepository
from .context import StoreContext
from .customers import CustomerRepository, timeline
from .offers import OfferRepository
from .records import agent_record
from .scripts import Reply

AGENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
HISTORY = 5  # earlier contacts of the customer shown with each offer


@dataclass(frozen=True, slots=True)
class AgentProfile:
    name: str
    skills: dict[str, int] = field(default_factory=dict)
    queues: list[str] = field(default_factory=list)
    capacity: dict[Channel, int] = field(default_factory=dict)
    profile: str = ""


class AgentRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def _check(self, agent_id: str, profile: AgentProfile) -> None:
        if not AGENT_ID.match(agent_id):
            raise InvalidInput(
                f"agent id {agent_id!r} must be 1..64 of letters, digits, '_', '-', '.', ':'",
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
            keys=[keys.agent(agent_id), keys.agents, keys.agent_changes, keys.events],
            args=[
                agent_id,
                profile.name,
                json.dumps(profile.skills, sort_keys=True),
                json.dumps(sorted(set(profile.queues))),
                json.dumps({ch.value: n for ch, n in profile.capacity.items()}, sort_keys=True),
                self.ctx.clock.now_ms(),
                profile.profile,
            ],
        )
        (created,) = Reply.decode(answer).values
        return bool(created)

    async def get(self, agent_id: str) -> dict[str, Any]:
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.agent(agent_id))
            pipe.hgetall(keys.agent_work(agent_id))
            raw, work = await pipe.execute()
        if not raw:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        record = agent_record(raw, work, self.ctx.rules)
        work = record["work"]
        if work:
            async with self.ctx.redis.pipeline(transaction=False) as pipe:
                for item in work:
                    pipe.hmget(
                        keys.contact(item["contact_id"]),
                        "offer_id",
                        "offer_expires_at",
                        "customer_id",
                        "attributes",
                    )
                details = await pipe.execute()
            for item, (offer, expires, customer_id, attributes) in zip(work, details, strict=True):
                if item["state"] == "offered":
                    item["offer_id"] = offer
                    item["offer_expires_at"] = int(expires) if expires else None
                item["attributes"] = json.loads(attributes or "{}")
                if customer_id:
                    item["customer"] = await self._customer_context(customer_id, item["contact_id"])
        return record

    async def _customer_context(self, customer_id: str, contact_id: str) -> dict[str, Any]:
        """Who the customer is and what happened on their earlier contacts, on any channel."""
        try:
            profile = await CustomerRepository(self.ctx).get(customer_id)
            page = await timeline(self.ctx, customer_id, limit=HISTORY + 1)
        except NotFound:
            return {"id": customer_id}
        history = [entry for entry in page["items"] if entry["contact_id"] != contact_id]
        return {**profile, "history": history[:HISTORY]}

    async def ids(self) -> list[str]:
        return sorted(await self.ctx.redis.smembers(self.ctx.keys.agents))

    async def set_presence(self, agent_id: str, presence: Presence, reason: str = "") -> str:
        """Set what the agent says it is; returns the presence before."""
        if presence is Presence.WRAP_UP:
            raise InvalidInput("wrap_up is set by the system, not by the agent", field="presence")
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
        if presence is not Presence.AVAILABLE:
            offers = OfferRepository(self.ctx)
            for contact_id in ringing:
                await offers.withdraw_for(contact_id, agent_id)
        else:
            contacts = ContactRepository(self.ctx)
            for contact_id in wrapping:
                await contacts.end_wrap_up(contact_id, only_if_due=False)
        return str(before)
