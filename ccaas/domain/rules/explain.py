"""Why a contact is where it is: its score terms, its steps, and how each agent ranks for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..eligibility import Ineligible, ineligibility
from ..models import AgentView, WaitingContact
from ..strategies import rank_key
from ..values import MAX_PRIORITY, MIN_PRIORITY, clamp_priority
from .compiled import CompiledRules


def _detail(
    reason: Ineligible, agent: AgentView, contact: WaitingContact, now_ms: int, cooldown_ms: int
) -> str:
    if reason is Ineligible.NOT_AVAILABLE:
        return f"agent is {agent.presence.value}"
    if reason is Ineligible.NOT_IN_QUEUE:
        return f"agent does not serve {contact.queue}"
    if reason is Ineligible.HELD:
        left = (contact.preferred_until_ms - now_ms) / 1000
        return f"held {left:g} s more for preferred agent {contact.preferred_agent}"
    if reason is Ineligible.DELAYED:
        delay = agent.membership(contact.queue).delay_ms / 1000
        waited = (now_ms - contact.queue_since_ms) / 1000
        return f"agent takes {contact.queue} after {delay:g} s; contact waited {waited:g} s"
    if reason is Ineligible.MISSING_SKILL:
        short = [
            f"{skill} {agent.skills.get(skill, 0)}<{level}"
            for skill, level in sorted(contact.skills.items())
            if agent.skills.get(skill, 0) < level
        ]
        return "below the required level: " + ", ".join(short)
    if reason is Ineligible.REJECTED:
        ago = (now_ms - contact.rejected_by[agent.id]) / 1000
        return (
            f"rejected it {ago:g} s ago; passed over for {cooldown_ms / 1000:g} s while "
            "another agent can take it"
        )
    held = ", ".join(f"{n} {ch}" for ch, n in sorted(agent.work.items()) if n) or "nothing"
    return f"no room for {contact.channel.value}: holds {held}"


def candidates(
    contact: WaitingContact,
    agents: Mapping[str, AgentView],
    rules: CompiledRules,
    now_ms: int,
) -> list[dict[str, Any]]:
    """Every agent who serves the contact's queue (or is its preferred agent), best first.

    Eligible agents are ranked exactly as the router ranks them (rank 1 is offered the
    contact unless a better-placed contact takes that agent first); the others say why not.
    An agent who rejected the contact lately says `rejected_recently`; when nobody else is
    eligible, such agents are ranked as eligible, as the router would offer it to them.
    """
    spec = rules.queue_specs.get(contact.queue)
    if spec is None or contact.channel not in spec.channels:
        return []  # the router does not route it (the rules refuse to strand contacts)
    skills = tuple(sorted(contact.skills))
    cooldown_ms = int(spec.reject_cooldown_seconds * 1000)
    verdicts = [
        (agent, ineligibility(agent, contact, rules.channel_rules, now_ms, cooldown_ms))
        for agent in agents.values()
        if contact.queue in agent.queues or agent.id == contact.preferred_agent
    ]
    nobody_else = all(reason is not None for _, reason in verdicts)
    rows: list[tuple[tuple[int, Any], dict[str, Any]]] = []
    for agent, reason in verdicts:
        waived = nobody_else and reason is Ineligible.REJECTED
        row: dict[str, Any] = {
            "agent": agent.id,
            "presence": agent.presence.value,
            "eligible": reason is None or waived,
            "queue_priority": agent.membership(contact.queue).priority,
        }
        if reason is not None:
            row["reason"] = reason.value
            row["detail"] = _detail(reason, agent, contact, now_ms, cooldown_ms)
            if waived:
                row["detail"] += "; nobody else can, so it may be offered again"
        if reason is None or waived:
            key = rank_key(spec.strategy, agent, contact.queue, skills)
            row["rank_key"] = list(key)
            rows.append(((0, key), row))
        else:
            rows.append(((1, agent.id), row))
    rows.sort(key=lambda item: item[0])
    result = [row for _, row in rows]
    for rank, row in enumerate((r for r in result if r["eligible"]), start=1):
        row["rank"] = rank
    return result


def score_terms(
    contact: WaitingContact,
    priority_terms: Sequence[Sequence[Any]],
    relaxed: Sequence[Mapping[str, Any]],
    rules: CompiledRules,
) -> dict[str, Any]:
    """The order score and what makes it up (lower is offered first)."""
    aging = rules.config.aging_seconds_per_priority
    terms: list[dict[str, Any]] = [
        {"source": str(source), "priority": int(delta)} for source, delta in priority_terms
    ]
    total = sum(int(t["priority"]) for t in terms)
    before = clamp_priority(total)
    if before != total:
        terms.append(
            {"source": f"clamped to {MIN_PRIORITY}..{MAX_PRIORITY}", "priority": before - total}
        )
    for step in relaxed:
        after = int(step.get("priority", before))
        if after != before:
            terms.append({"source": f"step {step['step']}", "priority": after - before})
            before = after
    return {
        "score": contact.score,
        "formula": "first_enqueued_at - priority * aging_seconds_per_priority * 1000",
        "first_enqueued_at": contact.first_enqueued_ms,
        "priority": contact.priority,
        "priority_terms": terms,
        "aging_seconds_per_priority": aging,
    }


def pending_steps(contact: WaitingContact, rules: CompiledRules) -> list[dict[str, Any]]:
    """Steps that may still fire for the contact where it waits now, in order."""
    result = []
    for step in rules.steps_for(contact.rule, contact.queue):
        if step.key in contact.relaxed:
            continue
        entry: dict[str, Any] = {"step": step.key}
        if step.step.after_seconds is not None:
            entry["due_at"] = contact.queue_since_ms + int(step.step.after_seconds * 1000)
        if step.step.when is not None:
            entry["when"] = step.step.when.strip()
        result.append(entry)
    return result
