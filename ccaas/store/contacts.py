"""Contacts in Redis: insert (idempotent), read, abandon, complete and end wrap-up."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from redis.asyncio.client import Pipeline

from ..domain.models import ContactState
from ..errors import Conflict, CustomerErased, InvalidInput, NotFound
from .context import StoreContext
from .records.contact import ContactRecord, encode_new
from .relaxations import CONTACT_CHANGES_KEPT
from .scripts import Reply, execute_scripts


class InsertStatus(StrEnum):
    """What enqueue.lua did with one new contact (a refusal is named by its reason)."""

    CREATED = "created"
    EXISTING = "existing"  # known by its channel + external id: returned unchanged
    FULL = "queue_full"  # the queue is at its max size: nothing written
    RULES_CHANGED = "rules_changed"  # classified under rules no longer in force
    CUSTOMER_CHANGED = "customer_changed"  # the customer was erased or merged since resolved


@dataclass(frozen=True, slots=True)
class NewRow:
    """One classified contact as enqueue.lua writes it."""

    contact_id: str
    channel: str
    external_id: str
    queue: str
    score: float
    fields: dict[str, Any]  # every other field; empty ones are left out
    max_size: int = 0
    customer_id: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    """What complete() led to: the contact's state, and whether notes sent were not stored
    (its customer was erased: it takes no new personal data)."""

    state: str
    notes_discarded: bool = False


@dataclass(frozen=True, slots=True)
class Inserted:
    status: InsertStatus
    contact_id: str


log = structlog.get_logger("ccaas.store")
PER_CALL = 100  # contacts per script call: keeps each call short
STALE = frozenset({"stale_agent", "stale_queue"})  # refusals that mean: read again, retry
STALE_READS = 5  # a contact that moves under every one of these reads gives a Conflict


def _cannot(contact_id: str, raw: dict[str, str], wanted: str, action: str) -> Conflict:
    """The refusal of a transition the contact's state does not allow."""
    return Conflict(
        f"contact {contact_id!r} is {raw['state']}, not {wanted}; it cannot be {action}",
        contact_id=contact_id,
        state=raw["state"],
    )


def _not_yours(contact_id: str, agent_id: str) -> Conflict:
    return Conflict(
        f"contact {contact_id!r} is not connected to agent {agent_id!r}; only the agent "
        "holding it can complete it",
        contact_id=contact_id,
        agent_id=agent_id,
    )


def _inserted(reply: Reply) -> Inserted:
    if not reply.ok:
        return Inserted(InsertStatus(str(reply.reason)), "")
    contact_id, created = reply.values
    return Inserted(InsertStatus.CREATED if created else InsertStatus.EXISTING, str(contact_id))


def new_contact_id() -> str:
    return "c" + secrets.token_hex(8)


async def read_contact(ctx: StoreContext, contact_id: str) -> dict[str, str]:
    """The contact's stored hash; NotFound for an unknown contact."""
    raw: dict[str, str] = await ctx.redis.hgetall(ctx.keys.contact(contact_id))
    if not raw:
        raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
    return raw


class ContactRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def insert(self, rows: Sequence[NewRow], rules_version: int) -> list[Inserted]:
        """Write new contacts atomically, each on its own; one status per row, in order."""
        keys = self.ctx.keys
        now = self.ctx.clock.now_ms()
        chunks = [rows[i : i + PER_CALL] for i in range(0, len(rows), PER_CALL)]
        calls: list[tuple[list[str], list[str | int]]] = []
        for chunk in chunks:
            call_keys = [
                keys.external_ids,
                keys.events,
                keys.wake_pending,
                keys.rules_active,
                keys.contact_changes,
                keys.agent_changes,
            ]
            call_args: list[str | int] = [
                now,
                keys.wake_channel,
                rules_version,
                CONTACT_CHANGES_KEPT,
            ]
            for row in chunk:
                customer = row.customer_id or "-"
                call_keys += [
                    keys.contact(row.contact_id),
                    keys.queue_waiting(row.queue),
                    keys.queue_arrivals(row.queue),
                    keys.customer_timeline(customer),
                    keys.customer(customer),
                ]
                own = {
                    "tenant": keys.tenant,
                    "channel": row.channel,
                    "external_id": row.external_id,
                    "customer_id": row.customer_id,
                }
                call_args += [
                    row.contact_id,
                    f"{row.channel}:{row.external_id}",
                    repr(row.score),
                    encode_new(own, row.fields),
                    row.max_size,
                ]
            calls.append((call_keys, call_args))

        async def fill(pipe: Pipeline) -> None:
            for call_keys, call_args in calls:
                await self.ctx.scripts.enqueue(keys=call_keys, args=call_args, client=pipe)

        replies = await execute_scripts(self.ctx.redis, fill)
        return [_inserted(reply) for answer in replies for reply in Reply.batch(answer)]

    async def attach_body(self, contact_id: str, body: str, kind: str) -> None:
        """Keep the contact's long body (transcript, email) beside it; NotFound if unknown."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.attach_body(
            keys=[keys.contact(contact_id), keys.contact_body(contact_id), keys.events],
            args=[contact_id, body, self.ctx.clock.now_ms(), kind],
        )
        reply = Reply.decode(answer)
        if reply.reason == "customer_erased":
            raise CustomerErased(
                f"contact {contact_id!r} belonged to an erased customer; it takes no body",
                contact_id=contact_id,
            )
        if not reply.ok:
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)

    async def has_body(self, contact_id: str) -> bool:
        return bool(await self.ctx.redis.exists(self.ctx.keys.contact_body(contact_id)))

    async def body(self, contact_id: str) -> str:
        text: str | None = await self.ctx.redis.get(self.ctx.keys.contact_body(contact_id))
        if text is None:
            await self.raw(contact_id)  # 404 for an unknown contact
            raise NotFound(f"contact {contact_id!r} has no body", contact_id=contact_id)
        return text

    async def find(self, channel: str, external_id: str) -> str | None:
        """The id of the contact that arrived on `channel` with the channel's `external_id`."""
        found: str | None = await self.ctx.redis.hget(
            self.ctx.keys.external_ids, f"{channel}:{external_id}"
        )
        return found

    async def open_conversation(self, route: str, address: str) -> str | None:
        """The contact the native channel `route` last opened for `address`, if it is still
        open (not completed, abandoned or erased)."""
        return (await self.conversation(route, address))[0]

    async def conversation(self, route: str, address: str) -> tuple[str | None, str]:
        """The open contact of `address` on `route` (None when there is none), and the
        external id a new one takes: "route:<hash of the address>:n", n counting the
        conversations, so
        that two first messages arriving at once make one contact (the insert is idempotent
        by external id)."""
        keys = self.ctx.keys
        contact_id: str | None = await self.ctx.redis.hget(keys.conversations, f"{route}:{address}")
        number = 1
        if contact_id is not None:
            state, erased, external_id = await self.ctx.redis.hmget(
                keys.contact(contact_id), "state", "erased_at", "external_id"
            )
            if state not in (None, "completed", "abandoned") and not erased:
                return contact_id, ""
            last = str(external_id or "").rpartition(":")[2]
            number = int(last) + 1 if last.isdigit() else self.ctx.clock.now_ms()
        # the address (a phone number) is not in the id: ids travel in events to adapters
        digest = hashlib.sha256(f"{route}:{address}".encode()).hexdigest()[:20]
        return None, f"{route}:{digest}:{number}"

    async def remember_conversation(self, route: str, address: str, contact_id: str) -> None:
        await self.ctx.redis.hset(self.ctx.keys.conversations, f"{route}:{address}", contact_id)

    async def raw(self, contact_id: str) -> dict[str, str]:
        return await read_contact(self.ctx, contact_id)

    async def fields_of(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> list[list[str | None]]:
        """The same fields of many contacts (None where missing), in one trip."""
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for contact_id in contact_ids:
                pipe.hmget(self.ctx.keys.contact(contact_id), *fields)
            rows: list[list[str | None]] = await pipe.execute()
        return rows

    async def get(self, contact_id: str) -> dict[str, Any]:
        raw = await self.raw(contact_id)
        record = ContactRecord.decode(raw)
        shown = record.api()
        if record.state is ContactState.QUEUED:
            rank = await self.ctx.redis.zrank(
                self.ctx.keys.queue_waiting(record.queue or ""), contact_id
            )
            shown["position"] = rank + 1 if rank is not None else None
        return shown

    async def _settled(
        self, contact_id: str, call: Callable[[dict[str, str]], Awaitable[Reply]]
    ) -> tuple[Reply, dict[str, str]]:
        """Read the contact and `call` its script until the script was not refused for a
        stale read (the contact moved meanwhile); the reply and the read it acted on."""
        for _ in range(STALE_READS):
            raw = await self.raw(contact_id)
            reply = await call(raw)
            if reply.reason not in STALE:
                return reply, raw
        raise Conflict(
            f"contact {contact_id!r} kept changing meanwhile; try again",
            contact_id=contact_id,
            reason="kept_changing",
        )

    async def abandon(self, contact_id: str) -> str:
        """The customer left; returns the state the contact was in. A contact an agent holds
        stays the agent's (marked customer_left_at); one waiting or ringing is abandoned."""
        keys = self.ctx.keys

        async def call(raw: dict[str, str]) -> Reply:
            agent_id, queue = raw.get("agent_id", ""), raw["queue"]
            return Reply.decode(
                await self.ctx.scripts.abandon(
                    keys=[
                        keys.contact(contact_id),
                        keys.queue_waiting(queue),
                        keys.queue_arrivals(queue),
                        keys.agent(agent_id),
                        keys.agent_work(agent_id),
                        keys.offer_deadlines,
                        keys.agent_changes,
                        keys.events,
                        keys.wake_pending,
                        keys.contact_changes,
                        keys.callbacks_due,
                    ],
                    args=[
                        contact_id,
                        agent_id,
                        self.ctx.clock.now_ms(),
                        keys.wake_channel,
                        queue,
                        CONTACT_CHANGES_KEPT,
                    ],
                )
            )

        result, raw = await self._settled(contact_id, call)
        if not result.ok:
            raise _cannot(contact_id, raw, "waiting or held", "abandoned")
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

    async def complete(
        self, contact_id: str, agent_id: str, disposition: str = "", notes: str = ""
    ) -> Completion:
        """`agent_id` finished the contact connected to it, with one of its queue's wrap-up
        codes (or none); returns the contact's new state. The same completion again changes
        nothing and answers the state it led to. The contact of an erased customer is
        completed but keeps no notes (the Completion says so)."""
        raw = await self.raw(contact_id)
        if raw.get("agent_id") != agent_id:  # nothing of another's contact is told
            raise _not_yours(contact_id, agent_id)
        codes = self.ctx.config.wrap_up_codes_of(raw["queue"])
        if disposition and disposition not in codes:
            raise InvalidInput(
                f"disposition {disposition[:40]!r} is not a wrap-up code of queue "
                f"{raw['queue']!r}: use one of {', '.join(codes)} (free text goes in notes)",
                field="disposition",
                allowed=list(codes),
            )
        if not disposition and self.ctx.config.wrap_up_code_required(raw["queue"]):
            raise InvalidInput(
                f"queue {raw['queue']!r} needs a wrap-up code to complete a contact: one of "
                f"{', '.join(codes)}",
                field="disposition",
                allowed=list(codes),
            )
        queue = self.ctx.config.queues.get(raw["queue"])
        wrap_up = queue.wrap_up_seconds if queue else 0.0  # a queue since removed: none
        reply = Reply.decode(
            await self.ctx.scripts.complete(
                keys=self._handling_keys(contact_id, agent_id),
                args=[
                    contact_id,
                    self.ctx.clock.now_ms(),
                    int(wrap_up * 1000),
                    disposition,
                    notes,
                    self.ctx.keys.wake_channel,
                    agent_id,
                ],
            )
        )
        if reply.ok:
            state, discarded = reply.values
            return Completion(str(state), bool(int(discarded)))
        if reply.reason == "not_yours" or raw.get("agent_id", "") != agent_id:
            raise _not_yours(contact_id, agent_id)
        raise _cannot(contact_id, await self.raw(contact_id), "connected", "completed")

    async def end_wrap_up(self, contact_id: str, *, only_if_due: bool) -> bool:
        """End the contact's wrap-up (`only_if_due`: only once its time is up); True if ended."""

        async def call(raw: dict[str, str]) -> Reply:
            agent_id = raw.get("agent_id", "")
            return Reply.decode(
                await self.ctx.scripts.end_wrap_up(
                    keys=self._handling_keys(contact_id, agent_id),
                    args=[
                        contact_id,
                        self.ctx.clock.now_ms(),
                        "due" if only_if_due else "done",
                        self.ctx.keys.wake_channel,
                        agent_id,
                    ],
                )
            )

        result, _ = await self._settled(contact_id, call)
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
                log.warning("wrap_up_deadline_dropped", contact_id=contact_id)
                await self.ctx.redis.zrem(self.ctx.keys.wrap_up_deadlines, contact_id)
        return ended
