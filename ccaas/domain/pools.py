"""Indexed pools: per contact group, the available agents with skills and room, by rank.

A group is every waiting contact with the same queue, channel and required skill levels:
its agents are the same ones and they rank the same way. A group's ranked list is built
once per round, from the rarest required skill's index rather than from every agent, and
kept sorted as offers are made; an agent leaves a list once it has no room on its channel.
Room only shrinks within a round, so a group found empty stays empty for the round.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .eligibility import has_room, has_skills
from .models import AgentView, Channel, ChannelRule, Presence, QueueSpec, Strategy, WaitingContact
from .strategies import RankKey, rank_key

GroupKey = tuple[str, Channel, frozenset[tuple[str, int]]]


@dataclass(slots=True)
class PlanStats:
    """What a planning round cost: agents tested against a contact or a contact group."""

    checks: int = 0
    offers: int = 0


def group_key(contact: WaitingContact) -> GroupKey:
    return (contact.queue, contact.channel, frozenset(contact.skills.items()))


class _SkillIndex:
    """Per skill, the available agents by level, highest first."""

    def __init__(self, agents: Mapping[str, AgentView]) -> None:
        by_skill: dict[str, list[tuple[int, str]]] = {}
        for agent in agents.values():
            for skill, level in agent.skills.items():
                by_skill.setdefault(skill, []).append((-level, agent.id))
        for entries in by_skill.values():
            entries.sort()
        self.neg_levels = {s: [n for n, _ in e] for s, e in by_skill.items()}
        self.ids = {s: [a for _, a in e] for s, e in by_skill.items()}

    def at_least(self, skill: str, level: int) -> list[str]:
        """Agents holding `skill` at `level` or above (level > 0)."""
        levels = self.neg_levels.get(skill)
        if levels is None:
            return []
        return self.ids[skill][: bisect.bisect_right(levels, -level)]


class Pools:
    """The round's snapshot of agents and, per contact group, its ranked eligible agents."""

    def __init__(
        self,
        agents: Mapping[str, AgentView],
        queues: Mapping[str, QueueSpec],
        rules: Mapping[Channel, ChannelRule],
        stats: PlanStats,
    ) -> None:
        self.agents = dict(agents)
        self.queues = queues
        self.rules = rules
        self.stats = stats
        available = {a.id: a for a in self.agents.values() if a.presence is Presence.AVAILABLE}
        self.members: dict[str, list[str]] = {}
        for agent in available.values():
            for queue in agent.queues:
                if queue in queues:
                    self.members.setdefault(queue, []).append(agent.id)
        self.skills = _SkillIndex(available)
        self.ranked: dict[GroupKey, list[RankKey]] = {}
        self.keys: dict[GroupKey, dict[str, RankKey]] = {}
        self.groups_of: dict[str, list[GroupKey]] = {}  # agent id -> groups listing it

    def ranked_for(self, contact: WaitingContact) -> list[RankKey]:
        """Agents with the skills and room for the contact's group, best first."""
        key = group_key(contact)
        ranked = self.ranked.get(key)
        if ranked is None:
            ranked = self._build(key, contact)
        return ranked

    def _build(self, key: GroupKey, contact: WaitingContact) -> list[RankKey]:
        queue, channel, _ = key
        strategy = self.queues[queue].strategy
        names = _ranked_skills(strategy, contact.skills.items())
        keys: dict[str, RankKey] = {}
        for aid in self._candidates(queue, contact.skills):
            self.stats.checks += 1
            agent = self.agents[aid]
            if (
                queue in agent.queues
                and has_skills(agent.skills, contact.skills)
                and has_room(agent, channel, self.rules)
            ):
                keys[aid] = rank_key(strategy, agent, queue, names)
                self.groups_of.setdefault(aid, []).append(key)
        ranked = sorted(keys.values())
        self.ranked[key] = ranked
        self.keys[key] = keys
        return ranked

    def _candidates(self, queue: str, required: Mapping[str, int]) -> list[str]:
        """A superset of the group's agents: the holders of its rarest required skill."""
        lists = [self.skills.at_least(s, level) for s, level in required.items() if level > 0]
        if not lists:
            return self.members.get(queue, [])
        return min(lists, key=len)

    def record(self, agent_id: str, channel: Channel, queue: str, now_ms: int) -> None:
        """Apply an offer to the snapshot and re-rank the agent in every group listing it."""
        agent = self.agents[agent_id].with_offer(channel, queue, now_ms)
        self.agents[agent_id] = agent
        still: list[GroupKey] = []
        for key in self.groups_of.get(agent_id, []):
            keys, ranked = self.keys[key], self.ranked[key]
            del ranked[bisect.bisect_left(ranked, keys[agent_id])]
            group_queue, group_channel, skills = key
            if has_room(agent, group_channel, self.rules):
                strategy = self.queues[group_queue].strategy
                names = _ranked_skills(strategy, skills)
                keys[agent_id] = new = rank_key(strategy, agent, group_queue, names)
                bisect.insort(ranked, new)
                still.append(key)
            else:
                del keys[agent_id]
        self.groups_of[agent_id] = still


def _ranked_skills(strategy: Strategy, required: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """The skills a strategy ranks on: the required ones for most-skilled, else none."""
    if strategy is not Strategy.MOST_SKILLED:
        return ()
    return tuple(sorted(skill for skill, _ in required))
