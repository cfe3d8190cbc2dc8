"""The ingest stage: every way in (HTTP, MQTT, SMTP, webhooks) turns arrivals into contacts here.

validate → resolve the customer → flag repeats → classify → preferred-agent hold (only for
an agent who could take the contact) →
store.insert → overflow when full → catch up with newer rules and try again (bounded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from ..domain.holds import decide_hold
from ..domain.intake import NewContact, check_new_contact
from ..domain.models import AgentView
from ..domain.ordering import order_score
from ..domain.rules.classify import Classified, Rejection, classify, retarget
from ..domain.rules.compiled import CompiledRules
from ..domain.rules.conditions import ConditionWarning
from ..errors import CcaasError, Conflict, ContactRejected
from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository, InsertStatus, NewRow, new_contact_id
from ..store.context import StoreContext
from ..store.customers import CustomerRepository
from ..store.queues import QueueRepository
from .customer import CustomerWarning, Wanted, resolve, routing_view, wanted_customer

log = structlog.get_logger("ccaas.ingest")
PASSES = 4  # a contact refused for newer rules or a changed customer is tried this often


@dataclass(frozen=True, slots=True)
class Enqueued:
    created: bool
    contact_id: str
    rejected: Rejection | None = None
    warnings: tuple[CustomerWarning, ...] = ()  # what of the customer could not be used


@dataclass(slots=True)
class _Pending:
    """One contact of the batch on its way to a queue."""

    index: int
    contact: NewContact
    where: Classified
    customer_id: str = ""


class Ingest:
    def __init__(self, ctx: StoreContext, new_id: Callable[[], str] = new_contact_id) -> None:
        """`new_id` makes the id of each new contact (tests make them predictable)."""
        self.ctx = ctx
        self.new_id = new_id
        self.contacts = ContactRepository(ctx)
        self.customers = CustomerRepository(ctx)
        self.agents = AgentRepository(ctx)
        self.queues = QueueRepository(ctx)

    async def enqueue(self, contact: NewContact) -> Enqueued:
        """Classify and enqueue one contact; ContactRejected when it cannot be queued."""
        result = (await self.enqueue_many([contact]))[0]
        if result.rejected is not None:
            raise ContactRejected(result.rejected)
        return result

    async def enqueue_many(self, contacts: Sequence[NewContact]) -> list[Enqueued]:
        """Classify and enqueue; each contact is checked first, so a bad one adds none.

        A contact that no rule takes, or whose queue is closed or full with nowhere to
        overflow, is returned with `rejected` set and leaves no trace. Contacts classified
        by rules that are no longer in force are classified again by the new ones.
        """
        try:
            results = await self._enqueue_all(contacts)
        except CcaasError as exc:  # bad input or a conflict: none of the batch is queued
            first = contacts[0] if contacts else None
            log.info(
                "contact_refused",
                status=exc.status,
                reason=exc.fields.get("reason", exc.kind),
                problem=exc.detail,
                field=exc.fields.get("field"),
                channel=first.channel.value if first else None,
                external_id=first.external_id if first else None,
                batch=len(contacts),
            )
            raise
        for contact, result in zip(contacts, results, strict=True):
            if result.rejected is not None:
                log.info(
                    "contact_refused",
                    status=ContactRejected.status,
                    reason=result.rejected.reason,
                    problem=str(result.rejected),
                    queue=result.rejected.queue,
                    rule=result.rejected.rule,
                    channel=contact.channel.value,
                    external_id=contact.external_id,
                )
        return results

    async def _enqueue_all(self, contacts: Sequence[NewContact]) -> list[Enqueued]:
        results: dict[int, Enqueued] = {}
        todo = list(range(len(contacts)))
        for attempt in range(PASSES):
            stale, rules_changed = await self._pass(contacts, todo, results)
            if not stale:
                return [results[i] for i in range(len(contacts))]
            refresh = self.ctx.holder.refresh
            if rules_changed and (refresh is None or attempt == PASSES - 1):
                raise _rules_conflict()
            if rules_changed and refresh is not None:
                await refresh()
            todo = stale
        raise Conflict(
            "the customer kept changing while the contact arrived; send it again",
            reason="kept_changing",
        )

    async def _pass(
        self,
        contacts: Sequence[NewContact],
        todo: Sequence[int],
        results: dict[int, Enqueued],
    ) -> tuple[list[int], bool]:
        """Enqueue the contacts `todo` names under the rules in force; fills `results`.

        Every contact is checked against those rules first (InvalidInput names the field).
        Returns the contacts to try again (rules or customer changed meanwhile) and
        whether newer rules are in force.
        """
        rules, now = self.ctx.rules, self.ctx.clock.now_ms()
        wanted: dict[int, Wanted] = {}
        for i in todo:
            check_new_contact(contacts[i], rules.config)
            wanted[i] = wanted_customer(contacts[i], rules.config.phone_region)
        arriving = {i: contacts[i] for i in todo}
        customer_ids: dict[int, str] = {}
        warnings = {i: wanted[i].warnings for i in todo}
        for i in todo:
            found = None
            if wanted[i].anyone:
                found, warnings[i] = await resolve(self.customers, wanted[i])
            if found is not None:
                customer_ids[i], profile = found
                view = routing_view(profile, wanted[i].given)
                arriving[i] = dataclasses.replace(arriving[i], customer=view)
            elif (given := wanted[i].given) is not None:  # an id naming nobody is not kept
                given = {k: v for k, v in given.items() if k != "customer_id"}
                arriving[i] = dataclasses.replace(arriving[i], customer=given or None)
        if customer_ids:
            since = now - rules.config.repeat_window_seconds * 1000
            earlier = await self.customers.latest_contacts(customer_ids, since)
            for i, repeat_of in earlier.items():
                arriving[i] = dataclasses.replace(arriving[i], repeat_of=repeat_of)
        stats = await self.queues.live_stats() if rules.needs_queue_stats else None
        pending: list[_Pending] = []
        for i, contact in arriving.items():
            try:
                where = classify(contact, rules, now, stats)
            except Rejection as rejection:
                _log_condition_failures(rejection.warnings, contact, "")
                results[i] = Enqueued(False, "", rejection)
                continue
            pending.append(_Pending(i, contact, where, customer_ids.get(i, "")))
        preferred = await self.agents.views(
            {p.where.preferred_agent for p in pending if p.where.preferred_agent}, rules
        )
        stale: list[int] = []
        rules_changed = False
        for _ in range(len(rules.config.queues) + 1):  # each overflow hop is one more write
            if not pending:
                break
            rows = [self._row(p, rules, now, preferred) for p in pending]
            inserted = await self.contacts.insert(rows, rules.version)
            overflowing: list[_Pending] = []
            for item, done in zip(pending, inserted, strict=True):
                if done.status is InsertStatus.CREATED:
                    _log_condition_failures(item.where.warnings, item.contact, done.contact_id)
                if done.status in (InsertStatus.CREATED, InsertStatus.EXISTING):
                    results[item.index] = Enqueued(
                        done.status is InsertStatus.CREATED,
                        done.contact_id,
                        warnings=warnings[item.index],
                    )
                elif done.status in (InsertStatus.RULES_CHANGED, InsertStatus.CUSTOMER_CHANGED):
                    stale.append(item.index)  # classify (and find the customer) again
                    rules_changed = rules_changed or done.status is InsertStatus.RULES_CHANGED
                else:  # full: overflow on, or refuse
                    try:
                        item.where = retarget(item.contact, item.where, "full", rules, now, stats)
                        overflowing.append(item)
                    except Rejection as rejection:
                        results[item.index] = Enqueued(False, "", rejection)
            pending = overflowing
        for item in pending:  # an overflow chain that never found room
            results[item.index] = Enqueued(
                False, "", Rejection("full", item.where.queue, item.where.rule)
            )
        return stale, rules_changed

    def _row(
        self, item: _Pending, rules: CompiledRules, now: int, agents: Mapping[str, AgentView]
    ) -> NewRow:
        contact, where = item.contact, item.where
        contact_id = self.new_id()
        fields: dict[str, Any] = {
            "queue": where.queue,
            "skills": where.skills,
            "priority": where.priority,
            "priority_terms": where.priority_terms,
            "rule": where.rule,
            "tags": where.tags,
            "overflowed": where.overflowed,
            "customer": contact.customer,
            "attributes": contact.attributes,
            "rules_version": rules.version,
            "repeat_of": contact.repeat_of,
            "delivered_by": contact.delivered_by,
            "reply_to": contact.reply_to,
            "reply_window_seconds": contact.reply_window_seconds,
        }
        preferred = where.preferred_agent
        if preferred:
            hold = decide_hold(
                preferred,
                agents.get(preferred),
                where.queue,
                contact.channel,
                where.skills,
                where.hold_ms,
                rules.channel_rules,
            )
            fields["preferred_agent"] = preferred if hold.applied else ""
            fields["preferred_until"] = now + hold.hold_ms if hold.applied else 0
            fields["preferred_note"] = hold.note
            fields["preferred_hold"] = hold.explained()
            log.info(
                "preferred_agent_hold",
                contact_id=contact_id,
                agent_id=preferred,
                queue=where.queue,
                hold="applied" if hold.applied else "not_applied",
                reason=str(hold.reason) if hold.reason else None,
            )
        return NewRow(
            contact_id=contact_id,
            channel=contact.channel.value,
            external_id=contact.external_id,
            queue=where.queue,
            score=order_score(where.priority, now, rules.config.aging_seconds_per_priority),
            fields=fields,
            max_size=rules.config.queues[where.queue].max_size or 0,
            customer_id=item.customer_id,
        )


def _log_condition_failures(
    warnings: Sequence[ConditionWarning], contact: NewContact, contact_id: str
) -> None:
    """One warning per condition that failed (it counted as false), naming where it is
    written and the contact (no id yet when the contact was refused)."""
    for rule_field, error in warnings:
        log.warning(
            "rule_condition_failed",
            rule=rule_field,
            error=error,
            contact_id=contact_id or None,
            external_id=contact.external_id,
            channel=contact.channel.value,
        )


def _rules_conflict() -> Conflict:
    return Conflict(
        "the routing rules changed while the contact arrived and this process could "
        "not catch up; send it again",
        reason="rules_changed",
    )
