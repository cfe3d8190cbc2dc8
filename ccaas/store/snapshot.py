"""Reads agents and waiting contacts for the relaxer and explain, re-reading only what changed.

Agents are cached with the sequence Redis bumps on every change; every agent is read again
when the rules in force change (they decide queues and capacity). Waiting contacts are
cached by id and order score; a change to a contact bumps it in the contact changes zset,
which drops it from the cache. (The router keeps its own state: router_state.py.)
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain.models import AgentView, WaitingContact
from .context import StoreContext
from .keys import CHANGES_TRIMMED
from .records.agent import AgentRecord
from .records.contact import WAITING_FIELDS, waiting_view


class SnapshotReader:
    """Keeps agents and waiting contacts cached between rounds; Redis stays the truth."""

    def __init__(self, ctx: StoreContext, per_queue_limit: int | None = 1000) -> None:
        self.ctx = ctx
        self.per_queue_limit = per_queue_limit
        self._agents: dict[str, tuple[int, AgentView]] = {}
        self._rules = ctx.rules
        self._contacts: dict[str, WaitingContact] = {}
        self._seen_change = 0
        self._seen_contact_change = 0

    def reset(self) -> None:
        """Forget everything cached: the next read takes all of it from Redis."""
        self._agents, self._contacts = {}, {}
        self._seen_change = self._seen_contact_change = 0

    def _follow_rules(self) -> None:
        if self.ctx.rules is not self._rules:
            # new rules change every agent's queues and capacity: read them all again
            self._rules = self.ctx.rules
            self._agents = {}
            self._seen_change = 0

    async def agents(self) -> dict[str, AgentView]:
        """Every known agent, re-reading only those changed since last time."""
        self._follow_rules()
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(keys.agent_changes, f"({self._seen_change}", "+inf", withscores=True)
            pipe.zrange(keys.agent_changes, -1, -1, withscores=True)
            changed, newest = await pipe.execute()
        if self._seen_change and int(newest[0][1] if newest else 0) < self._seen_change:
            # the sequence went back (Redis lost its last writes): trust nothing cached
            self._agents, self._seen_change = {}, 0
            changed = await self.ctx.redis.zrangebyscore(
                keys.agent_changes, "(0", "+inf", withscores=True
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
                    raw = dict(zip(flat[::2], flat[1::2], strict=True))
                    held = dict(zip(work[::2], work[1::2], strict=True))
                    self._agents[aid] = (seq, AgentRecord.decode(raw, held).view(self._rules))
                else:
                    self._agents.pop(aid, None)
        return {aid: view for aid, (_, view) in self._agents.items()}

    def _drop_changed_contacts(
        self,
        changed: list[tuple[str, float]],
        oldest: list[tuple[str, float]],
        newest: list[tuple[str, float]],
    ) -> None:
        """Forget cached contacts a relaxation step changed since the last read."""
        seen = self._seen_contact_change
        if seen and any(contact_id == CHANGES_TRIMMED for contact_id, _ in changed):
            self._contacts = {}  # entries we never saw were trimmed: trust nothing cached
        if seen and int(newest[0][1] if newest else 0) < seen:
            self._contacts = {}  # the sequence went back (Redis lost its last writes)
            self._seen_contact_change = 0
        for contact_id, _ in changed:
            self._contacts.pop(contact_id, None)
        if changed:
            self._seen_contact_change = int(changed[-1][1])

    async def waiting_contacts(self, queues: Iterable[str]) -> list[WaitingContact]:
        keys, redis = self.ctx.keys, self.ctx.redis
        names = list(queues)
        if not names:
            return []
        last = -1 if self.per_queue_limit is None else self.per_queue_limit - 1
        async with redis.pipeline(transaction=False) as pipe:
            changes = keys.contact_changes
            pipe.zrangebyscore(changes, f"({self._seen_contact_change}", "+inf", withscores=True)
            pipe.zrange(changes, 0, 0, withscores=True)
            pipe.zrange(changes, -1, -1, withscores=True)
            for queue in names:
                pipe.zrange(keys.queue_waiting(queue), 0, last, withscores=True)
            changed, oldest, newest, *ranges = await pipe.execute()
        self._drop_changed_contacts(changed, oldest, newest)
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
                args=list(WAITING_FIELDS),
            )
            for (contact_id, score), row in zip(missing, rows, strict=True):
                if row[0] is None:
                    continue
                seen[contact_id] = waiting_view(contact_id, score, row)
        self._contacts = seen
        return list(seen.values())
