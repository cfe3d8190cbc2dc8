"""Cold transfers: the agent holding a connected contact passes it to a queue, where it keeps
its place by its first arrival, or to a named agent, for whom it is held a while."""

from __future__ import annotations

import structlog

from ..domain.holds import decide_hold
from ..domain.models import Channel
from ..domain.ordering import order_score
from ..errors import Conflict, InvalidInput
from ..store.records.contact import ContactRecord
from ..store.relaxations import CONTACT_CHANGES_KEPT
from ..store.scripts import Reply
from .service import Desk

log = structlog.get_logger("ccaas.desk")
TRANSFER_HOLD_SECONDS = 60  # a contact passed to a named agent waits this long for that agent
MAX_NOTE = 500


class Transfers:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.ctx = desk.ctx

    async def transfer(
        self, contact_id: str, agent_id: str, queue: str = "", to_agent: str = "", note: str = ""
    ) -> str:
        """`agent_id` passes its connected contact on: to `queue` (default: the contact's
        own), held for `to_agent` if named. Returns the queue it waits in. InvalidInput names
        a bad queue; Conflict says why a named agent cannot take it; nothing changes then."""
        if not queue and not to_agent:
            raise InvalidInput("name the queue or the agent to transfer to", field="queue")
        if to_agent == agent_id:
            raise InvalidInput(
                "a contact is not transferred to the agent holding it", field="agent_id"
            )
        if len(note) > MAX_NOTE:
            raise InvalidInput(f"a transfer note has at most {MAX_NOTE} characters", field="note")
        raw = await self.desk.contacts.raw(contact_id)
        contact = ContactRecord.decode(raw)
        target = queue or contact.queue or ""
        rules = self.ctx.rules
        spec = rules.config.queues.get(target)
        channel = contact.channel or Channel.CHAT
        if spec is None:
            known = ", ".join(sorted(rules.config.queues))
            raise InvalidInput(f"no queue {target[:60]!r}; known: {known}", field="queue")
        if channel not in spec.channels:
            raise InvalidInput(
                f"queue {target!r} does not take {channel.value} contacts", field="queue"
            )
        held_until = 0
        if to_agent:
            views = await self.desk.agents.views({to_agent}, rules)
            hold = decide_hold(
                to_agent,
                views.get(to_agent),
                target,
                channel,
                contact.skills,
                TRANSFER_HOLD_SECONDS * 1000,
                rules.channel_rules,
            )
            if not hold.applied:
                raise Conflict(
                    f"agent {to_agent[:60]!r} cannot take it: {hold.note}",
                    reason=str(hold.reason),
                    agent_id=to_agent[:60],
                )
            held_until = self.ctx.clock.now_ms() + hold.hold_ms
        score = order_score(
            contact.priority or 0,
            contact.first_enqueued_at or self.ctx.clock.now_ms(),
            rules.config.aging_seconds_per_priority,
        )
        keys = self.ctx.keys
        answer = await self.ctx.scripts.transfer(
            keys=[
                keys.contact(contact_id),
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.queue_waiting(target),
                keys.queue_arrivals(target),
                keys.agent_changes,
                keys.contact_changes,
                keys.events,
                keys.wake_pending,
                keys.agents_available,
            ],
            args=[
                contact_id,
                agent_id,
                target,
                repr(score),
                self.ctx.clock.now_ms(),
                to_agent,
                held_until,
                note,
                keys.wake_channel,
                CONTACT_CHANGES_KEPT,
            ],
        )
        if not Reply.decode(answer).ok:
            raise Conflict(
                f"contact {contact_id!r} is not connected to agent {agent_id!r}",
                reason="not_connected",
                contact_id=contact_id,
            )
        log.info(
            "contact_transferred",
            contact_id=contact_id,
            agent_id=agent_id,
            queue=target,
            to_agent=to_agent or None,
        )
        return target
