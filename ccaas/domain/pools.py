"""Indexed pools: per contact group, the available agents with skills and room, by rank.

A group (see backlog.py) is every waiting contact with the same queue, channel and
required skill levels: its agents are the same ones and they rank the same way. A group's
ranked list is built when the group is first planned, from the rarest required skill's
index rather than from every agent, and is then kept up to date as agents change (an
offer, a presence, a profile): a changed agent is re-checked only in the groups of its
queues. An agent is listed only while it has room on the group's channel.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .backlog import GroupKey, group_key
from .eligibility import has_room, has_skills
from .models import AgentView, Channel, ChannelRule, Presence, QueueSpec, Strategy, WaitingContact
from .strategies import RankKey, rank_key

__all__ = ["GroupKey", "PlanStats", "Pools", "group_key"]

MAX_GROUPS = 10_000  # ranked lists kept; past this many they are all built afresh on demand


@dataclass(slots=True)
class PlanStats:
    """What planning cost: agents tested against a contact or a contact group."""

    checks: int = 0
    offers: int = 0


class _SkillIndex:
    """Per skill, the available agents by level, highest first."""

    def __init__(self) -> None:
        self._by_skill: dict[str, list[tuple[int, str]]] = {}

    def add(self, agent: AgentView) -> None:
        for skill, level in agent.skills.items():
            bisect.insort(self._by_skill.setdefault(skill, []), (-level, agent.id))

    def remove(self, agent: AgentView) -> None:
        for skill, level in agent.skills.items():
            entries = self._by_skill[skill]
            del entries[bisect.bisect_left(entries, (-level, agent.id))]

    def at_least(self, skill: str, level: int) -> list[str]:
        """Agents holding `skill` at `level` or above (level > 0)."""
        entries = self._by_skill.get(skill, [])
        end = bisect.bisect_left(entries, (-level + 1, ""))
        return [agent_id for _, agent_id in entries[:end]]

    def count_at_least(self, skill: str, level: int) -> int:
        return bisect.bisect_left(self._by_skill.get(skill, []), (-level + 1, ""))


class _Group:
    """One group's ranked agents: rank keys sorted, and each listed agent's key."""

    __slots__ = ("channel", "key", "keys", "names", "queue", "ranked", "required", "strategy")

    def __init__(self, key: GroupKey, strategy: Strategy) -> None:
        self.key = key
        self.queue, self.channel, skills = key
        self.required = dict(skills)
        self.strategy = strategy
        self.names = _ranked_skills(strategy, skills)
        self.ranked: list[RankKey] = []
        self.keys: dict[str, RankKey] = {}

    def takes(self, agent: AgentView, rules: Mapping[Channel, ChannelRule]) -> bool:
        return (
            agent.presence is Presence.AVAILABLE
            and self.queue in agent.queues
            and has_skills(agent.skills, self.required)
            and has_room(agent, self.channel, rules)
        )

    def place(self, agent: AgentView, listed: bool) -> bool:
        """List the agent at its current rank (`listed`), or take it off the list; returns
        `listed`."""
        old = self.keys.pop(agent.id, None)
        if old is not None:
            del self.ranked[bisect.bisect_left(self.ranked, old)]
        if listed:
            self.keys[agent.id] = new = rank_key(self.strategy, agent, self.queue, self.names)
            bisect.insort(self.ranked, new)
        return listed


class Pools:
    """Every known agent, and per contact group its ranked eligible agents.

    Kept between rounds: `put_agent` and `drop_agent` apply what changed, `record` applies
    an offer the round plans.
    """

    def __init__(
        self,
        queues: Mapping[str, QueueSpec],
        rules: Mapping[Channel, ChannelRule],
        agents: Iterable[AgentView] = (),
    ) -> None:
        self.queues = queues
        self.rules = rules
        self.stats = PlanStats()
        self.agents: dict[str, AgentView] = {}
        self.members: dict[str, set[str]] = {}  # queue -> available agents serving it
        self.skills = _SkillIndex()
        self._groups: dict[GroupKey, _Group] = {}
        self._groups_of_queue: dict[str, list[_Group]] = {}
        self._listed_in: dict[str, set[GroupKey]] = {}  # agent id -> groups listing it
        for agent in agents:
            self.put_agent(agent)

    def begin_round(self, stats: PlanStats) -> None:
        """Count this round's checks in `stats`; forget the ranked lists if too many are kept
        (only between rounds: a round holds on to the lists it reads)."""
        self.stats = stats
        if len(self._groups) > MAX_GROUPS:
            self._groups, self._groups_of_queue, self._listed_in = {}, {}, {}

    def put_agent(self, agent: AgentView) -> None:
        """Add the agent or replace what was known of it."""
        old = self.agents.get(agent.id)
        self.agents[agent.id] = agent
        self._unindex(old)
        if agent.presence is Presence.AVAILABLE:
            self.skills.add(agent)
            for queue in agent.queues:
                if queue in self.queues:
                    self.members.setdefault(queue, set()).add(agent.id)
        queues = agent.queues | (old.queues if old is not None else frozenset())
        for queue in queues:
            for group in self._groups_of_queue.get(queue, ()):
                self.stats.checks += 1
                self._place(group, agent, group.takes(agent, self.rules))

    def drop_agent(self, agent_id: str) -> None:
        old = self.agents.pop(agent_id, None)
        if old is None:
            return
        self._unindex(old)
        for key in self._listed_in.pop(agent_id, set()):
            self._groups[key].place(old, False)

    def _unindex(self, old: AgentView | None) -> None:
        if old is None or old.presence is not Presence.AVAILABLE:
            return
        self.skills.remove(old)
        for queue in old.queues:
            self.members.get(queue, set()).discard(old.id)

    def _place(self, group: _Group, agent: AgentView, listed: bool) -> None:
        if agent.id not in group.keys and not listed:
            return
        listing = self._listed_in.setdefault(agent.id, set())
        if group.place(agent, listed):
            listing.add(group.key)
        else:
            listing.discard(group.key)

    def ranked_for(self, contact: WaitingContact) -> list[RankKey]:
        """Agents with the skills and room for the contact's group, best first."""
        key = group_key(contact)
        group = self._groups.get(key)
        if group is None:
            group = self._build(key)
        return group.ranked

    def _build(self, key: GroupKey) -> _Group:
        queue = key[0]
        group = _Group(key, self.queues[queue].strategy)
        for agent_id in self._candidates(queue, key[2]):
            self.stats.checks += 1
            agent = self.agents[agent_id]
            self._place(group, agent, group.takes(agent, self.rules))
        self._groups[key] = group
        self._groups_of_queue.setdefault(queue, []).append(group)
        return group

    def _candidates(self, queue: str, required: Iterable[tuple[str, int]]) -> Iterable[str]:
        """A superset of the group's agents: the holders of its rarest required skill."""
        needed = [(s, level) for s, level in required if level > 0]
        if not needed:
            return list(self.members.get(queue, ()))
        rarest = min(needed, key=lambda need: self.skills.count_at_least(*need))
        return self.skills.at_least(*rarest)

    def record(self, agent_id: str, channel: Channel, queue: str, now_ms: int) -> None:
        """Apply a planned offer to the agent. Its room only shrinks, so it is re-ranked, or
        taken off, only in the groups that list it."""
        agent = self.agents[agent_id].with_offer(channel, queue, now_ms)
        self.agents[agent_id] = agent
        for key in list(self._listed_in.get(agent_id, ())):
            group = self._groups[key]
            self.stats.checks += 1
            self._place(group, agent, has_room(agent, group.channel, self.rules))


def _ranked_skills(strategy: Strategy, required: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """The skills a strategy ranks on: the required ones for most-skilled, else none."""
    if strategy is not Strategy.MOST_SKILLED:
        return ()
    return tuple(sorted(skill for skill, _ in required))
