"""Contacts in Redis: enqueue (idempotent), read, abandon, complete and end wrap-up."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from ..domain.classify import Classified, Rejection, classify, retarget
from ..domain.customer_profile import profile_from_contact
from ..domain.facts import CUSTOMER_DEFAULTS
from ..domain.identity import Identity, InvalidIdentity, identity
from ..domain.intake import NewContact, check_new_contact
from ..domain.ordering import order_score
from ..errors import Conflict, ContactRejected, InvalidInput, NotFound
from .context import StoreContext
from .customers import CustomerRepository
from .queues import QueueRepository
from .records import contact_record
from .scripts import Reply


@dataclass(frozen=True, slots=True)
class Enqueued:
    created: bool
    contact_id: str
    rejected: Rejection | None = None


log = structlog.get_logger("ccaas.store")
PER_CALL = 100  # contacts per script call: keeps each call short
RULES_CHANGED = "rules_changed"  # enqueue.lua: classified under rules no longer in force
CUSTOMER_CHANGED = "customer_changed"  # enqueue.lua: customer erased or merged since resolved


def new_contact_id() -> str:
    return "c" + secrets.token_hex(8)


def _encoded(value: Any) -> str:
    """JSON of a field value; the empty values most contacts have cost nothing."""
    if not value:
        return _EMPTY_JSON.get(type(value), "null")
    return json.dumps(value, sort_keys=True)


_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]", tuple: "[]"}


def _fields_json(contact: NewContact, where: Classified, tenant: str, extra: dict[str, Any]) -> str:
    """The contact's fields for enqueue.lua; empty ones are left out (readers default them)."""
    fields = {
        "tenant": tenant,
        "channel": contact.channel.value,
        "external_id": contact.external_id,
        "queue": where.queue,
        "skills": _encoded(where.skills),
        "priority": where.priority,
        "priority_terms": _encoded(where.priority_terms),
        "rule": where.rule,
        "tags": _encoded(where.tags),
        "overflowed": _encoded(where.overflowed),
        "customer": _encoded(contact.customer),
        "attributes": _encoded(contact.attributes),
        **extra,
    }
    return json.dumps({k: v for k, v in fields.items() if v not in _LEFT_OUT})


_LEFT_OUT = ("[]", "{}", "null", "")


IDENTITY_FIELDS = ("phone", "email", "handle", "visitor", "login")


def _customer_identities(contact: NewContact, region: str) -> tuple[list[Identity], str | None]:
    """The identities in the contact's customer object; InvalidInput names a bad one."""
    given = contact.customer or {}
    found = []
    for kind in IDENTITY_FIELDS:
        raw = given.get(kind)
        if raw in (None, ""):
            continue
        try:
            found.append(identity(kind, raw if isinstance(raw, str) else str(raw), region))
        except InvalidIdentity as exc:
            raise InvalidInput(str(exc), field=f"customer.{kind}") from exc
    given_id = given.get("customer_id")
    if given_id is not None and not isinstance(given_id, str):
        raise InvalidInput("customer_id must be a string", field="customer.customer_id")
    return found, given_id


def _routing_view(profile: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """What rules see as customer.*: the stored profile, then what the contact says now."""
    view = {k: v for k, v in profile.items() if v is not None and k in CUSTOMER_DEFAULTS}
    extras = dict(profile.get("extras") or {})
    for key, value in (given or {}).items():
        if key in IDENTITY_FIELDS or key == "customer_id":
            continue
        if key in CUSTOMER_DEFAULTS and key != "extras":
            view[key] = value
        else:
            extras[key] = value
    view["extras"] = extras
    view["customer_id"] = profile["id"]
    return view


class ContactRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def enqueue(self, contact: NewContact) -> Enqueued:
        """Classify and enqueue one contact; ContactRejected when it cannot be queued."""
        result = (await self.enqueue_many([contact]))[0]
        if result.rejected is not None:
            raise ContactRejected(result.rejected)
        return result

    async def enqueue_many(
        self, contacts: Sequence[NewContact], attempt: int = 0
    ) -> list[Enqueued]:
        """Classify and enqueue; each contact is checked first, so a bad one adds none.

        A contact that no rule takes, or whose queue is closed or full with nowhere to
        overflow, is returned with `rejected` set and leaves no trace. Contacts classified
        by rules that are no longer in force are classified again by the new ones.
        """
        rules = self.ctx.rules
        for contact in contacts:
            check_new_contact(contact, rules.config)
        wanted = {
            i: _customer_identities(c, rules.config.phone_region) for i, c in enumerate(contacts)
        }
        customer_ids: dict[int, str] = {}
        originals, contacts = contacts, list(contacts)
        profiles = {i: profile_from_contact(c.customer) for i, c in enumerate(contacts)}
        for i, (found, given_id) in wanted.items():
            if found or given_id:
                customer_ids[i], profile = await self._resolve_customer(
                    found, given_id, profiles[i]
                )
                contacts[i] = dataclasses.replace(
                    contacts[i], customer=_routing_view(profile, contacts[i].customer)
                )
        now = self.ctx.clock.now_ms()
        if customer_ids:
            earlier = await self._repeats(
                customer_ids, now - rules.config.repeat_window_seconds * 1000
            )
            for i, repeat_of in earlier.items():
                contacts[i] = dataclasses.replace(contacts[i], repeat_of=repeat_of)
        stats = await QueueRepository(self.ctx).live_stats() if rules.needs_queue_stats else None
        results: dict[int, Enqueued] = {}
        pending: list[tuple[int, NewContact, Classified]] = []
        for i, contact in enumerate(contacts):
            try:
                where = classify(contact, rules, now, stats)
            except Rejection as rejection:
                results[i] = Enqueued(False, "", rejection)
                continue
            for warning in where.warnings:
                log.warning("rule_condition_failed", tenant=self.ctx.keys.tenant, error=warning)
            pending.append((i, contact, where))
        holds = await self._preferred_holds([where for _, _, where in pending])
        stale: list[int] = []
        rules_changed = False
        for _ in range(len(rules.config.queues) + 1):
            if not pending:
                break
            replies = await self._write(pending, holds, now, customer_ids)
            retry: list[tuple[int, NewContact, Classified]] = []
            for (i, contact, where), reply in zip(pending, replies, strict=True):
                if reply.ok:
                    contact_id, created = reply.values
                    results[i] = Enqueued(bool(created), contact_id)
                    continue
                if reply.reason in (RULES_CHANGED, CUSTOMER_CHANGED):
                    stale.append(i)  # classify (and find the customer) again
                    rules_changed = rules_changed or reply.reason == RULES_CHANGED
                    continue
                try:
                    retry.append((i, contact, retarget(contact, where, "full", rules, now, stats)))
                except Rejection as rejection:
                    results[i] = Enqueued(False, "", rejection)
            pending = retry
        for i, _, where in pending:  # an overflow chain that never found room
            results[i] = Enqueued(False, "", Rejection("full", where.queue, where.rule))
        if stale:
            await self._catch_up(attempt, rules_changed)
            again = await self.enqueue_many([originals[i] for i in stale], attempt + 1)
            results.update(zip(stale, again, strict=True))
        return [results[i] for i in range(len(contacts))]

    async def _catch_up(self, attempt: int, rules_changed: bool) -> None:
        refresh = self.ctx.holder.refresh
        if attempt >= 3 and not rules_changed:
            raise Conflict("the customer kept changing while the contact arrived; send it again")
        if not rules_changed:
            return
        if refresh is None or attempt >= 3:
            raise Conflict(
                "the routing rules changed while the contact arrived and this process could "
                "not catch up; send it again",
                reason="rules_changed",
            )
        await refresh()

    async def _repeats(self, customer_ids: dict[int, str], since: float) -> dict[int, str]:
        """Each customer's latest contact since `since` (ms): the new one repeats it."""
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for customer_id in customer_ids.values():
                pipe.zrevrangebyscore(
                    self.ctx.keys.customer_timeline(customer_id), "+inf", since, start=0, num=1
                )
            latest = await pipe.execute()
        return {i: found[0] for i, found in zip(customer_ids, latest, strict=True) if found}

    async def _resolve_customer(
        self, found: list[Identity], given_id: str | None, profile: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The contact's customer (created if new), with what the adapter knows saved."""
        customers = CustomerRepository(self.ctx)
        resolved = await customers.resolve(found, given_id)
        if profile:
            await customers.update(resolved.customer_id, profile)
        for identity_key, other in resolved.conflicts:
            log.warning(
                "customer_identity_conflict",
                tenant=self.ctx.keys.tenant,
                customer_id=resolved.customer_id,
                other_customer=other,
                identity_kind=identity_key.split(":", 1)[0],
            )
        return resolved.customer_id, await customers.get(resolved.customer_id)

    async def _preferred_holds(self, classified: Sequence[Classified]) -> dict[str, bool]:
        """Which preferred agents are logged in: a hold for an agent who is not is skipped."""
        wanted = sorted({c.preferred_agent for c in classified if c.preferred_agent})
        if not wanted:
            return {}
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for agent_id in wanted:
                pipe.hget(self.ctx.keys.agent(agent_id), "presence")
            presences = await pipe.execute()
        return {a: p not in (None, "offline") for a, p in zip(wanted, presences, strict=True)}

    async def _write(
        self,
        pending: Sequence[tuple[int, NewContact, Classified]],
        holds: dict[str, bool],
        now: int,
        customer_ids: dict[int, str],
    ) -> list[Reply]:
        keys, rules = self.ctx.keys, self.ctx.rules
        chunks = [pending[i : i + PER_CALL] for i in range(0, len(pending), PER_CALL)]
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for chunk in chunks:
                call_keys = [keys.external_ids, keys.events, keys.wake_pending, keys.rules_active]
                call_args: list[str | int] = [now, keys.wake_channel, rules.version]
                for i, contact, where in chunk:
                    contact_id = new_contact_id()
                    call_keys += [
                        keys.contact(contact_id),
                        keys.queue_waiting(where.queue),
                        keys.queue_arrivals(where.queue),
                        keys.customer_timeline(customer_ids.get(i, "-")),
                        keys.customer(customer_ids.get(i, "-")),
                    ]
                    extra: dict[str, Any] = {
                        "rules_version": rules.version,
                        "repeat_of": contact.repeat_of,
                    }
                    if i in customer_ids:
                        extra["customer_id"] = customer_ids[i]
                    if where.preferred_agent:
                        held = holds.get(where.preferred_agent, False)
                        extra["preferred_agent"] = where.preferred_agent if held else ""
                        extra["preferred_until"] = now + where.hold_ms if held else 0
                        extra["preferred_note"] = (
                            f"held {where.hold_ms // 1000} s for {where.preferred_agent}"
                            if held
                            else f"{where.preferred_agent} was not logged in: no hold"
                        )
                    score = order_score(
                        where.priority, now, rules.config.aging_seconds_per_priority
                    )
                    call_args += [
                        contact_id,
                        f"{contact.channel.value}:{contact.external_id}",
                        repr(score),
                        _fields_json(contact, where, keys.tenant, extra),
                        rules.config.queues[where.queue].max_size or 0,
                    ]
                await self.ctx.scripts.enqueue(keys=call_keys, args=call_args, client=pipe)
            replies = await pipe.execute()
        return [reply for answer in replies for reply in Reply.batch(answer)]

    async def attach_body(self, contact_id: str, body: str, kind: str) -> None:
        """Keep the contact's long body (transcript, email) beside it; NotFound if unknown."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.attach_body(
            keys=[keys.contact(contact_id), keys.contact_body(contact_id), keys.events],
            args=[contact_id, body, self.ctx.clock.now_ms(), kind],
        )
        if not Reply.decode(answer).ok:
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)

    async def body(self, contact_id: str) -> str:
        text: str | None = await self.ctx.redis.get(self.ctx.keys.contact_body(contact_id))
        if text is None:
            await self.raw(contact_id)  # 404 for an unknown contact
            raise NotFound(f"contact {contact_id!r} has no body", contact_id=contact_id)
        return text

    async def raw(self, contact_id: str) -> dict[str, str]:
        raw: dict[str, str] = await self.ctx.redis.hgetall(self.ctx.keys.contact(contact_id))
        if not raw:
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        return raw

    async def get(self, contact_id: str) -> dict[str, Any]:
        raw = await self.raw(contact_id)
        record = contact_record(raw)
        if raw["state"] == "queued":
            rank = await self.ctx.redis.zrank(self.ctx.keys.queue_waiting(raw["queue"]), contact_id)
            record["position"] = rank + 1 if rank is not None else None
        return record

    async def abandon(self, contact_id: str) -> str:
        """The customer left; returns the state the contact was in."""
        raw = await self.raw(contact_id)
        keys, agent_id = self.ctx.keys, raw.get("agent_id", "")
        answer = await self.ctx.scripts.abandon(
            keys=[
                keys.contact(contact_id),
                keys.queue_waiting(raw["queue"]),
                keys.queue_arrivals(raw["queue"]),
                keys.agent(agent_id),
                keys.agent_work(agent_id),
                keys.offer_deadlines,
                keys.agent_changes,
                keys.events,
                keys.wake_pending,
            ],
            args=[contact_id, agent_id, self.ctx.clock.now_ms(), keys.wake_channel, raw["queue"]],
        )
        result = Reply.decode(answer)
        if not result.ok:
            if result.reason in ("stale_agent", "stale_queue"):  # it moved meanwhile: read again
                return await self.abandon(contact_id)
            raise Conflict(
                f"contact {contact_id!r} is {raw['state']}, not waiting; it cannot be abandoned",
                contact_id=contact_id,
                state=raw["state"],
            )
        return str(result.values[0])

    def _handling_keys(self, contact_id: str, agent_id: str) -> list[str]:
        """KEYS of complete.lua and end_wrap_up.lua (the same layout)."""
        keys = self.ctx.keys
        return [
            keys.contact(contact_id),
            keys.agent(agent_id),
            keys.agent_work(agent_id),
            keys.wrap_up_deadlines,
            keys.agents_available,
            keys.agent_changes,
            keys.events,
            keys.wake_pending,
        ]

    async def complete(self, contact_id: str, disposition: str = "", notes: str = "") -> str:
        """The agent finished a connected contact; returns the contact's new state."""
        raw = await self.raw(contact_id)
        keys, agent_id = self.ctx.keys, raw.get("agent_id", "")
        queue = self.ctx.config.queues.get(raw["queue"])
        wrap_up = queue.wrap_up_seconds if queue else 0.0  # a queue since removed: no wrap-up
        answer = await self.ctx.scripts.complete(
            keys=self._handling_keys(contact_id, agent_id),
            args=[
                contact_id,
                self.ctx.clock.now_ms(),
                int(wrap_up * 1000),
                disposition,
                notes,
                keys.wake_channel,
                agent_id,
            ],
        )
        result = Reply.decode(answer)
        if result.reason == "stale_agent":
            return await self.complete(contact_id, disposition, notes)  # it moved: read again
        if not result.ok:
            raise Conflict(
                f"contact {contact_id!r} is {raw['state']}, not connected; it cannot be completed",
                contact_id=contact_id,
                state=raw["state"],
            )
        return str(result.values[0])

    async def end_wrap_up(self, contact_id: str, *, only_if_due: bool) -> bool:
        raw = await self.raw(contact_id)
        keys, agent_id = self.ctx.keys, raw.get("agent_id", "")
        answer = await self.ctx.scripts.end_wrap_up(
            keys=self._handling_keys(contact_id, agent_id),
            args=[
                contact_id,
                self.ctx.clock.now_ms(),
                "due" if only_if_due else "done",
                keys.wake_channel,
                agent_id,
            ],
        )
        result = Reply.decode(answer)
        if result.reason == "stale_agent":
            return await self.end_wrap_up(contact_id, only_if_due=only_if_due)
        return result.ok

    async def end_due_wrap_ups(self, limit: int = 500) -> int:
        due = await self.ctx.redis.zrangebyscore(
            self.ctx.keys.wrap_up_deadlines, "-inf", self.ctx.clock.now_ms(), start=0, num=limit
        )
        ended = 0
        for contact_id in due:
            try:
                ended += await self.end_wrap_up(contact_id, only_if_due=True)
            except NotFound:
                # a deadline whose contact is gone would block every later one: drop it
                log.warning(
                    "wrap_up_deadline_dropped", tenant=self.ctx.keys.tenant, contact_id=contact_id
                )
                await self.ctx.redis.zrem(self.ctx.keys.wrap_up_deadlines, contact_id)
        return ended
