"""What a router keeps between rounds (its backlog and pools), brought up to date from Redis.

Every script that starts or stops a contact waiting, or changes how it is routed, bumps it
in the contact changes zset; every change to an agent bumps it in the agent changes zset.
A round reads what changed since the last round in one round trip (read_changes.lua), so
its cost grows with what changed, not with the backlog. Everything is read afresh at start,
when the rules change, when Redis was renewed or lost writes (a sequence went back), and
when this router fell so far behind that changes it never saw were trimmed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..domain.backlog import Backlog
from ..domain.models import AgentView
from ..domain.pools import Pools
from ..domain.rules.compiled import CompiledRules
from .context import StoreContext
from .keys import CHANGES_TRIMMED
from .offers import ClaimResult
from .records.agent import AgentRecord
from .records.contact import WAITING_FIELDS, waiting_view

READ_CHUNK = 1000  # entities per script call when everything is read
MOST_CONTACT_CHANGES = 5000  # per round: a burst of arrivals is taken in bounded steps


class RouterState:
    """The backlog and pools one router plans from, and how far it has read the changes."""

    def __init__(self, ctx: StoreContext, most_per_round: int = MOST_CONTACT_CHANGES) -> None:
        self.ctx = ctx
        self.most_per_round = most_per_round
        self.rules: CompiledRules = ctx.rules
        self.backlog = Backlog()
        self.pools = Pools(self.rules.queue_specs, self.rules.channel_rules)
        self.loaded = False  # False: the next refresh reads everything
        self.more = False  # the last refresh left contact changes for the next one
        self._agent_seen = 0
        self._contact_seen = 0
        self._agent_seqs: dict[str, int] = {}  # agent id -> the sequence its view is of
        self._known: dict[str, int] = {}  # agents whose newest change is this router's offer
        self._reread: set[str] = set()  # agents to read whatever their sequence says
        self._own_changes: set[int] = set()  # agent change sequences of this router's offers
        self._own_contact_changes: set[int] = set()  # contact change sequences of its offers

    def reset(self) -> None:
        """Trust nothing kept: the next refresh reads everything."""
        self.loaded = False

    async def refresh(self) -> bool:
        """Bring the kept state up to date; True when everything was read afresh."""
        if not self.loaded or self.ctx.rules is not self.rules:
            await self._load_all()
            return True
        keys = self.ctx.keys
        own_agents = (seq for agent_id, seq in self._known.items() if agent_id not in self._reread)
        args: list[str | int] = [
            self._agent_seen,
            self._contact_seen,
            self.most_per_round,
            *keys.changed_entity_patterns,
            ",".join(WAITING_FIELDS),
            seq_ranges(own_agents),
            seq_ranges(self._own_contact_changes),
        ]
        reply = await self.ctx.scripts.read_changes(
            keys=[keys.agent_changes, keys.contact_changes, keys.wake_pending], args=args
        )
        newest_agent, agents, newest, last, contacts = reply
        newest_agent, newest = int(newest_agent), int(newest)
        went_back = newest_agent < self._agent_seen or newest < self._contact_seen
        if went_back or any(row[0] == CHANGES_TRIMMED for row in contacts):
            # Redis lost writes, or changes this router never read were trimmed
            await self._load_all()
            return True
        self._known, self._agent_seen, self._own_changes = {}, newest_agent, set()
        self._own_contact_changes = set()
        self._apply_agents(agents)
        unchanged = sorted(self._reread - {row[0] for row in agents})
        if unchanged:
            await self._read_agents(unchanged)  # rare: a refused claim's agents
        self._reread = set()
        self._apply_contacts(contacts)
        self._contact_seen = int(last)
        self.more = self._contact_seen < newest  # the read limit left changes for the next
        return False

    def take_arrival(self, message: str) -> bool:
        """Apply new contacts as their enqueue's wake-up carries them (see enqueue.lua),
        without reading Redis; True if it could. It can when nothing else changed since the
        last read: the contacts' changes come next (after this router's own offers), and
        every agent change since is this router's own offer. Otherwise the caller refreshes
        as usual."""
        if not self.loaded or self.ctx.rules is not self.rules or self._reread:
            return False
        try:
            arrival = json.loads(message)
            at, agents_seq = int(arrival["at"]), int(arrival["agents"])
            contacts = [
                (int(c["seq"]), str(c["id"]), float(c["score"]), dict(c["fields"]))
                for c in arrival["contacts"]
            ]
        except (ValueError, TypeError, KeyError):
            return False  # not an arrival (a plain wake-up), or not one this version reads
        if not contacts:
            return False
        first = self._contact_seen + 1
        while first in self._own_contact_changes:
            first += 1
        if [seq for seq, *_ in contacts] != list(range(first, first + len(contacts))):
            return False
        if not self._only_own_agent_changes_up_to(agents_seq):
            return False
        for _, contact_id, score, fields in contacts:
            fields["first_enqueued_at"] = fields["queue_since"] = at
            row = [fields.get(name) for name in WAITING_FIELDS]
            self.backlog.put(waiting_view(contact_id, score, row))
        self._contact_seen = contacts[-1][0]
        self._own_contact_changes = {n for n in self._own_contact_changes if n > self._contact_seen}
        return True

    def missed_since_arrival(self, results: Sequence[ClaimResult]) -> bool:
        """After routing an arrival without a read (take_arrival), its commit having cleared
        the wake-up flag: whether anything changed meanwhile that this router has not seen,
        so that no wake-up will announce it. The claims' sequences tell: the first offer's
        changes come right after the newest ones before it (batches committed out of order
        make it say yes, which only costs a round). Call before apply_claims."""
        first = next((result for result in results if result.offer_id), None)
        if first is None:
            return True
        unseen = range(self._contact_seen + 1, first.contact_change)
        if any(n not in self._own_contact_changes for n in unseen):
            return True
        return not self._only_own_agent_changes_up_to(first.agent_change_after - 1)

    def _only_own_agent_changes_up_to(self, newest: int) -> bool:
        """Whether every agent change after the last read, up to `newest`, is this router's
        own offer. If so, they count as read: the sets of own changes stay small however
        long the router routes arrivals without reading."""
        if any(n not in self._own_changes for n in range(self._agent_seen + 1, newest + 1)):
            return False
        if newest > self._agent_seen:
            self._agent_seen = newest
            self._own_changes = {n for n in self._own_changes if n > newest}
        return True

    def _apply_agents(self, rows: Iterable[Sequence[Any]]) -> None:
        for agent_id, seq, flat, work in rows:
            if flat:
                raw = dict(zip(flat[::2], flat[1::2], strict=True))
                held = dict(zip(work[::2], work[1::2], strict=True))
                self.pools.put_agent(AgentRecord.decode(raw, held).view(self.rules))
                self._agent_seqs[agent_id] = int(seq)
            else:
                self.pools.drop_agent(agent_id)
                self._agent_seqs.pop(agent_id, None)

    def _apply_contacts(self, rows: Iterable[Sequence[Any]]) -> None:
        for contact_id, _, state, *values in rows:
            if state == "queued" and values and values[0] is not None:
                self.backlog.put(waiting_view(contact_id, float(values[0]), values[1:]))
            else:
                self.backlog.discard(contact_id)

    async def _read_agents(self, agent_ids: Sequence[str]) -> None:
        keys = self.ctx.keys
        call_keys = [k for aid in agent_ids for k in (keys.agent(aid), keys.agent_work(aid))]
        replies = await self.ctx.scripts.read_agents(keys=call_keys, args=[])
        seq = self._agent_seen  # at least as new as the last read: re-read next if it moves
        self._apply_agents(
            (aid, self._agent_seqs.get(aid, seq), flat, work)
            for aid, (flat, work) in zip(agent_ids, replies, strict=True)
        )

    async def _load_all(self) -> None:
        """Read every agent and every waiting contact of the queues in the rules."""
        self.rules = rules = self.ctx.rules
        keys, redis = self.ctx.keys, self.ctx.redis
        queues = sorted(rules.queue_specs)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.delete(keys.wake_pending)
            # the sequences first: whatever changes after them is read by the next refresh
            pipe.zrange(keys.agent_changes, -1, -1, withscores=True)
            pipe.zrange(keys.contact_changes, -1, -1, withscores=True)
            pipe.zrange(keys.agent_changes, 0, -1, withscores=True)
            for queue in queues:
                pipe.zrange(keys.queue_waiting(queue), 0, -1, withscores=True)
            _, newest_agent, newest_contact, agents, *waiting = await pipe.execute()
        self._agent_seen = int(newest_agent[0][1]) if newest_agent else 0
        self._contact_seen = int(newest_contact[0][1]) if newest_contact else 0
        self.backlog = Backlog()
        self.pools = Pools(rules.queue_specs, rules.channel_rules)
        self._agent_seqs, self._known, self._reread, self._own_changes = {}, {}, set(), set()
        self._own_contact_changes = set()
        ids = [agent_id for agent_id, _ in agents]
        for start in range(0, len(ids), READ_CHUNK):
            await self._read_agents(ids[start : start + READ_CHUNK])
        for agent_id, seq in agents:
            if agent_id in self._agent_seqs:
                self._agent_seqs[agent_id] = int(seq)
        entries = [entry for queue_entries in waiting for entry in queue_entries]
        for start in range(0, len(entries), READ_CHUNK):
            chunk = entries[start : start + READ_CHUNK]
            rows = await self.ctx.scripts.read_fields(
                keys=[keys.contact(contact_id) for contact_id, _ in chunk],
                args=list(WAITING_FIELDS),
            )
            for (contact_id, score), row in zip(chunk, rows, strict=True):
                if row[0] is not None:
                    self.backlog.put(waiting_view(contact_id, score, row))
        self.loaded, self.more = True, False

    def apply_claims(self, results: Sequence[ClaimResult]) -> None:
        """After a commit: the offered agents' kept views stand when nobody else changed them
        meanwhile; a refused offer's contact waits again here and its agent is read again."""
        for result in results:
            planned = result.planned
            agent_id = planned.agent_id
            if result.offer_id is None:
                self._reread.add(agent_id)
                if result.refused != "contact_not_waiting":
                    # it still waits (if it changed, its change is read next)
                    contact = planned.contact
                    if contact is not None and contact.id not in self.backlog:
                        self.backlog.put(contact)
                continue
            expected = self._known.get(agent_id, self._agent_seqs.get(agent_id))
            self._own_changes.add(result.agent_change_after)
            self._own_contact_changes.add(result.contact_change)
            if result.agent_change_before == expected:
                self._known[agent_id] = self._agent_seqs[agent_id] = result.agent_change_after
            else:
                self._reread.add(agent_id)  # someone else changed it too

    def agents(self) -> dict[str, AgentView]:
        return self.pools.agents


def seq_ranges(seqs: Iterable[int]) -> str:
    """Sequence numbers as ascending ranges, "first-last,first-last": one batch's offers
    take consecutive numbers, so a round's thousand offers are a handful of ranges."""
    ranges: list[list[int]] = []
    for seq in sorted(seqs):
        if ranges and seq <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], seq)
        else:
            ranges.append([seq, seq])
    return ",".join(f"{first}-{last}" for first, last in ranges)
