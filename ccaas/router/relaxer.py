"""The relaxation duty: finds waiting contacts whose steps are due and applies them in Redis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from ..domain.eligibility import capacity_limit, has_skills
from ..domain.models import AgentView, Channel, ChannelRule, Presence, WaitingContact
from ..domain.rules.compiled import CompiledStep
from ..domain.rules.conditions import ConditionWarning
from ..domain.rules.facts import QueueStats, helpers, relaxation_variables
from ..domain.rules.relaxation import NO_EFFECT, due_steps, effect_of
from ..store.context import StoreContext
from ..store.queues import QueueRepository
from ..store.records.contact import ContactRecord
from ..store.relaxations import RelaxationRepository
from ..store.snapshot import SnapshotReader

log = structlog.get_logger("ccaas.router")
_FACT_FIELDS = ("attributes", "customer", "tags", "external_id", "repeat_of")


def trigger_words(step: CompiledStep) -> str:
    """How the step's trigger reads in the explain output and the event log."""
    parts = []
    if step.step.after_seconds is not None:
        parts.append(f"after {step.step.after_seconds:g} s in queue")
    if step.step.when is not None:
        parts.append(f"when {step.step.when.strip()}")
    return " and ".join(parts)


def eligible_agents(
    contact: WaitingContact,
    agents: Mapping[str, AgentView],
    rules: Mapping[Channel, ChannelRule],
) -> int:
    """Logged-in agents who serve the contact's queue, have its skills and take its channel."""
    return sum(
        1
        for agent in agents.values()
        if agent.presence is not Presence.OFFLINE
        and contact.queue in agent.queues
        and has_skills(agent.skills, contact.skills)
        and capacity_limit(agent, contact.channel, rules) > 0
    )


class Relaxer:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.reader = SnapshotReader(ctx, per_queue_limit=None)
        self.steps = RelaxationRepository(ctx)
        self.queue_stats = QueueRepository(ctx)
        # by contact: the view they were read with (the reader makes a new one when the
        # contact changed, e.g. its customer was erased) and the facts
        self._facts: dict[str, tuple[WaitingContact, dict[str, Any]]] = {}

    async def relax_once(self) -> list[tuple[str, str]]:
        """Apply every due step; returns (contact id, step key) for each applied."""
        rules = self.ctx.rules
        if not rules.has_relaxation:
            return []
        queues = {q for q, steps in rules.queue_steps.items() if steps}
        queues |= {r.rule.queue for r in rules.rules if r.steps}
        now = self.ctx.clock.now_ms()
        candidates: list[WaitingContact] = []
        live = False
        for contact in await self.reader.waiting_contacts(sorted(queues)):
            pending = [
                s
                for s in rules.steps_for(contact.rule, contact.queue)
                if s.key not in contact.relaxed
            ]
            if all(
                s.step.after_seconds is not None
                and now - contact.queue_since_ms < s.step.after_seconds * 1000
                for s in pending
            ):
                continue  # nothing pending, or every step still waits on its timer
            candidates.append(contact)
            live = live or any(s.condition is not None for s in pending)
        if not candidates:
            return []
        stats: dict[str, QueueStats] = {}
        agents: dict[str, AgentView] = {}
        facts: dict[str, dict[str, Any]] = {}
        if live:
            stats = await self.queue_stats.live_stats()
            agents = await self.reader.agents()
            facts = await self._read_facts(candidates)
        applied: list[tuple[str, str]] = []
        fns = helpers(rules, now)
        for contact in candidates:
            variables = (
                relaxation_variables(
                    contact,
                    facts.get(contact.id, {}),
                    stats,
                    eligible_agents(contact, agents, rules.channel_rules),
                    rules,
                    now,
                )
                if live
                else {}
            )
            warnings: list[ConditionWarning] = []
            for step in due_steps(rules, contact, now, variables, fns, warnings):
                effect, trigger = effect_of(step, rules, contact.channel), trigger_words(step)
                if effect is None:  # recorded as fired, so it is not tried again
                    effect = NO_EFFECT
                    trigger += f" (no move: {step.step.move_to} does not take {contact.channel})"
                if await self.steps.apply(contact, step.key, effect, trigger, rules):
                    applied.append((contact.id, step.key))
                    log.info(
                        "contact_relaxed",
                        contact_id=contact.id,
                        step=step.key,
                    )
            for rule_field, error in warnings:
                log.warning(
                    "rule_condition_failed",
                    contact_id=contact.id,
                    rule=rule_field,
                    error=error,
                )
        return applied

    async def _read_facts(self, contacts: Sequence[WaitingContact]) -> dict[str, dict[str, Any]]:
        """Attributes, customer, tags and external id of each contact (cached until the
        contact changes)."""
        missing = [c for c in contacts if self._facts.get(c.id, (None,))[0] is not c]
        if missing:
            rows = await self.ctx.scripts.read_fields(
                keys=[self.ctx.keys.contact(c.id) for c in missing], args=list(_FACT_FIELDS)
            )
            for contact, row in zip(missing, rows, strict=True):
                record = ContactRecord.decode(dict(zip(_FACT_FIELDS, row, strict=True)))
                self._facts[contact.id] = (
                    contact,
                    {
                        "attributes": record.attributes,
                        "customer": record.customer,
                        "tags": record.tags,
                        "external_id": record.external_id or "",
                        "repeat_of": record.repeat_of or "",
                    },
                )
        self._facts = {c.id: self._facts[c.id] for c in contacts}
        return {contact_id: facts for contact_id, (_, facts) in self._facts.items()}
