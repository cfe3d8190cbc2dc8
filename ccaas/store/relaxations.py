"""Relaxation steps in Redis: one step applied to one waiting contact, once, atomically."""

from __future__ import annotations

import json

from ..domain.models import WaitingContact
from ..domain.rules.compiled import CompiledRules
from ..domain.rules.relaxation import Effect
from .context import StoreContext
from .scripts import Reply

CONTACT_CHANGES_KEPT = 100_000  # a router further behind than this re-reads every contact


class RelaxationRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def apply(
        self,
        contact: WaitingContact,
        step_key: str,
        effect: Effect,
        trigger: str,
        rules: CompiledRules,
    ) -> bool:
        """Apply the step unless the contact moved on or already had it; True when applied."""
        keys = self.ctx.keys
        target = effect.move_to or contact.queue
        answer = await self.ctx.scripts.relax(
            keys=[
                keys.contact(contact.id),
                keys.queue_waiting(contact.queue),
                keys.queue_arrivals(contact.queue),
                keys.queue_waiting(target),
                keys.queue_arrivals(target),
                keys.contact_changes,
                keys.events,
                keys.wake_pending,
                keys.rules_active,
            ],
            args=[
                contact.id,
                step_key,
                self.ctx.clock.now_ms(),
                contact.queue,
                json.dumps(
                    {
                        "require": dict(effect.require) or {},
                        "drop": list(effect.drop),
                        "add_priority": effect.add_priority,
                        "move_to": effect.move_to or "",
                    }
                ),
                rules.config.aging_seconds_per_priority,
                keys.wake_channel,
                trigger,
                CONTACT_CHANGES_KEPT,
                rules.version,
            ],
        )
        return Reply.decode(answer).ok
