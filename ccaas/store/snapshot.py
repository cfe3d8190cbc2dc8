"""Reads what the routing policy needs from Redis, re-reading only what changed.

Agents are cached with the revision Redis bumps on every change; an offer this router just
committed is applied to the cache when its revision shows nobody else touched the agent.
Waiting contacts are cached by id and order score (their routing fields do not change).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence

from ..domain.models import AgentView, Channel, Presence, WaitingContact
from .context import StoreContext
from .offers import ClaimResult

_CONTACT_FIELDS = ("channel", "queue", "skills", "priority", "first_enqueued_at")
_LAST_OFFER = "last_offer:"


def _agent_view(flat: list[str], work: list[str]) -> AgentView:
    raw = dict(zip(flat[::2], flat[1::2], strict=True))
    held: dict[str, int] = {}
    for entry in work:
        channel = entry.split(":", 1)[1]
        held[channel] = held.get(channel, 0) + 1
    return AgentView(
        id=raw["id"],
        skills=json.loads(raw["skills"]),
        queues=frozenset(json.loads(raw["queues"])),
        capacity=json.loads(raw["capacity"]),
        presence=Presence(raw["presence"]),
        idle_since_ms=int(raw["idle_since"]),
        work=held,
        last_offer_ms={
            k.removeprefix(_LAST_OFFER): int(v) for k, v in raw.items() if k.startswith(_LAST_OFFER)
        },
    )


class SnapshotReader:
    """Keeps agents and waiting contacts cached between rounds; Redis stays the truth."""

    def __init__(self, ctx: StoreContext, per_queue_limit: int = 1000) -> None:
        self.ctx = ctx
        self.per_queue_limit = per_queue_limit
        self._agents: dict[str, tuple[int, AgentView]] = {}
        self._contacts: dict[str, WaitingContact] = {}
        self._seen_change = 0

    async def available_agents(self) -> dict[str, AgentView]:
        """Agents whose presence is available, re-reading only those changed since last time."""
        keys = self.ctx.keys
        changed = await self.ctx.redis.zrangebyscore(
            keys.agent_changes, f"({self._seen_change}", "+inf", withscores=True
        )
        stale = [
            (aid, int(seq)) for aid, seq in changed if self._agents.get(aid, (-1,))[0] != int(seq)
        ]
        if changed:
            self._seen_change = max(self._seen_change, int(changed[-1][1]))
        if stale:
            call_keys = [k for aid, _ in stale for k in (keys.agent(aid), keys.agent_work(aid))]
            replies = await self.ctx.scripts.read_agents(keys=call_keys, args=[])
            for (aid, seq), (flat, work) in zip(stale, replies, strict=True):
                if flat:
                    self._agents[aid] = (seq, _agent_view(flat, work))
                else:
                    self._agents.pop(aid, None)
        return {
            aid: view
            for aid, (_, view) in self._agents.items()
            if view.presence is Presence.AVAILABLE
        }

    def forget_agents(self, agent_ids: Iterable[str]) -> None:
        """Drop cached agents so the next round re-reads them whatever their sequence says."""
        for agent_id in agent_ids:
            self._agents.pop(agent_id, None)
        self._seen_change = 0  # next read lists every agent's sequence and fetches the missing

    def note_claims(self, results: Sequence[ClaimResult]) -> None:
        """Apply this router's own committed offers to the cached agents."""
        for result in results:
            cached = self._agents.get(result.planned.agent_id)
            if cached is None or result.offer_id is None:
                continue
            seen, agent = cached
            if result.agent_change_before != seen:
                continue  # someone else changed the agent too: it is re-read next round
            planned = result.planned
            work = dict(agent.work)
            work[planned.channel] = work.get(planned.channel, 0) + 1
            self._agents[agent.id] = (
                result.agent_change_after,
                dataclasses.replace(
                    agent,
                    work=work,
                    idle_since_ms=result.at_ms,
                    last_offer_ms={**agent.last_offer_ms, planned.queue: result.at_ms},
                ),
            )

    async def waiting_contacts(self, queues: Iterable[str]) -> list[WaitingContact]:
        keys, redis = self.ctx.keys, self.ctx.redis
        names = list(queues)
        if not names:
            return []
        async with redis.pipeline(transaction=False) as pipe:
            for queue in names:
                pipe.zrange(keys.queue_waiting(queue), 0, self.per_queue_limit - 1, withscores=True)
            ranges = await pipe.execute()
        seen: dict[str, WaitingContact] = {}
        missing: list[tuple[str, float]] = []
        for entries in ranges:
            for contact_id, score in entries:
                cached = self._contacts.get(contact_id)
                if cached is not None and cached.score == score:
                    seen[contact_id] = cached
                else:
                    missing.append((contact_id, score))
        if missing:
            rows = await self.ctx.scripts.read_fields(
                keys=[keys.contact(contact_id) for contact_id, _ in missing],
                args=list(_CONTACT_FIELDS),
            )
            for (contact_id, score), row in zip(missing, rows, strict=True):
                channel, queue, skills, priority, first = row
                if channel is None:
                    continue
                seen[contact_id] = WaitingContact(
                    id=contact_id,
                    queue=queue,
                    channel=Channel(channel),
                    skills=json.loads(skills),
                    priority=int(priority),
                    first_enqueued_ms=int(first),
                    score=score,
                )
        self._contacts = seen
        return list(seen.values())
