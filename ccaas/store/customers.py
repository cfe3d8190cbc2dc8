"""Customers in Redis: found or created by any identity, their profile, and linked identities."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.identity import Identity, IdentityKind, identity
from ..errors import Conflict, NotFound
from .context import StoreContext
from .keys import OUTBOUND_ROUTES
from .records.contact import ContactRecord
from .records.customer import CustomerRecord
from .relaxations import CONTACT_CHANGES_KEPT
from .scripts import Reply

MERGE_HOPS = 10  # a merged customer is followed this far to the one it joined
# which identity names a person most surely, when identities point at different customers:
# the business's own ids (account, login) alike, then phone, email, handle, visitor
STRENGTH = {
    IdentityKind.ACCOUNT: 0,
    IdentityKind.LOGIN: 0,
    IdentityKind.PHONE: 1,
    IdentityKind.EMAIL: 2,
    IdentityKind.HANDLE: 3,
    IdentityKind.VISITOR: 4,
}


def new_customer_id() -> str:
    return "u" + secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Resolved:
    customer_id: str
    created: bool
    conflicts: tuple[tuple[str, str], ...] = ()  # (identity, the other customer who has it)


class CustomerRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def served_by(self, customer_id: str, agent_id: str) -> bool:
        """Whether the agent accepted a contact of this customer (or of one merged into it)."""
        key = self.ctx.keys.customer_agents(customer_id)
        return bool(await self.ctx.redis.sismember(key, agent_id))

    async def resolve(
        self, identities: Sequence[Identity], customer_id: str | None = None
    ) -> Resolved:
        """The customer these identities (or this id) name, created if none does.

        Identities nobody owns are linked to that customer. One owned by another customer
        is left there and reported as a conflict: customers are only joined by a merge.
        """
        ordered = sorted(set(identities), key=lambda i: (STRENGTH[i.kind], i.key))
        for _ in range(5):
            keys = [i.key for i in ordered]
            owners = await self.ctx.redis.hmget(self.ctx.keys.identities, keys) if keys else []
            fresh = new_customer_id()
            target = customer_id or next((o for o in owners if o), None) or fresh
            if customer_id is not None and not await self.ctx.redis.exists(
                self.ctx.keys.customer(customer_id)
            ):
                raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)
            free = [key for key, owner in zip(keys, owners, strict=True) if owner is None]
            conflicts = tuple(
                (key, owner)
                for key, owner in zip(keys, owners, strict=True)
                if owner is not None and owner != target
            )
            # only a new id creates: an owner erased meanwhile leaves no tombstone, and
            # must not come back under the same id
            result = await self._link(target, free, create=target == fresh)
            if result.ok:
                return Resolved(target, bool(int(result.values[0])), conflicts)
            if result.reason == "no_customer":
                customer_id = await self.current_id(target)
        raise Conflict("the customer's identities kept changing; try again")

    async def current_id(self, customer_id: str) -> str:
        """The customer `customer_id` now is (merges followed); NotFound once erased."""
        for _ in range(MERGE_HOPS):
            merged_into, erased = await self.ctx.redis.hmget(
                self.ctx.keys.customer(customer_id), "merged_into", "erased_at"
            )
            if erased:
                raise NotFound(f"customer {customer_id!r} was erased", customer_id=customer_id)
            if merged_into is None:
                return customer_id
            customer_id = merged_into
        raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)

    async def _link(self, customer_id: str, identity_keys: list[str], create: bool) -> Reply:
        keys = self.ctx.keys
        answer = await self.ctx.scripts.link_identities(
            keys=[
                keys.identities,
                keys.customer(customer_id),
                keys.customer_identities(customer_id),
                keys.events,
            ],
            args=[customer_id, self.ctx.clock.now_ms(), "create" if create else "", *identity_keys],
        )
        return Reply.decode(answer)

    async def add_identities(self, customer_id: str, identities: Sequence[Identity]) -> None:
        """Link identities to an existing customer, all of them or none: Conflict names one
        owned by another customer (nothing is linked then), NotFound an erased customer."""
        identity_keys = sorted({i.key for i in identities})
        for _ in range(MERGE_HOPS):
            result = await self._link(customer_id, identity_keys, create=False)
            if result.ok:
                return
            if result.reason == "owned_by_other":
                identity_key, other = result.values[0], result.values[1]
                raise Conflict(
                    f"identity {identity_key!r} belongs to customer {other!r}; merge the two "
                    "customers (no identity of the request was linked)",
                    identity=identity_key,
                    other_customer=other,
                )
            customer_id = await self.current_id(customer_id)  # merged meanwhile: follow it
        raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)

    def identity(self, kind: str, raw: str) -> Identity:
        """`raw` as an identity of `kind` in canonical form (InvalidIdentity if it cannot be)."""
        return identity(kind, raw, self.ctx.config.phone_region)

    async def find_by(self, kind: str, raw: str) -> str:
        return await self.find(self.identity(kind, raw))

    async def find(self, identity: Identity) -> str:
        owner = await self.ctx.redis.hget(self.ctx.keys.identities, identity.key)
        if owner is None:
            raise NotFound(f"no customer with {identity.kind.value} {identity.value!r}")
        return str(owner)

    async def get(self, customer_id: str) -> dict[str, Any]:
        found = (await self.get_many([customer_id]))[customer_id]
        if isinstance(found, str):
            raise NotFound(found, customer_id=customer_id)
        return found

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any] | str]:
        """Each customer (a merged one answers as the one it joined), or why it cannot be
        read ("no customer ..." / "... was erased"); a bounded number of round trips."""
        keys = self.ctx.keys
        result: dict[str, dict[str, Any] | str] = {}
        asked = {customer_id: customer_id for customer_id in customer_ids}  # asked -> now
        for _ in range(MERGE_HOPS):
            wanted = sorted(set(asked.values()))
            async with self.ctx.redis.pipeline(transaction=False) as pipe:
                for customer_id in wanted:
                    pipe.hgetall(keys.customer(customer_id))
                    pipe.smembers(keys.customer_identities(customer_id))
                replies = await pipe.execute()
            read = dict(zip(wanted, zip(replies[::2], replies[1::2], strict=True), strict=True))
            for first, now in list(asked.items()):
                raw, identities = read[now]
                if "merged_into" in raw:
                    asked[first] = raw["merged_into"]
                    continue
                del asked[first]
                if not raw:
                    result[first] = f"no customer {first!r}"
                elif "erased_at" in raw:
                    result[first] = f"customer {now!r} was erased"
                else:
                    result[first] = CustomerRecord.decode(raw, identities).api()
            if not asked:
                break
        result.update({first: f"no customer {first!r}" for first in asked})
        return result

    async def histories(
        self, customer_ids: Sequence[str], limit: int
    ) -> dict[str, list[dict[str, Any]]]:
        """The latest `limit` timeline entries of each (live, current) customer."""
        keys = self.ctx.keys
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for customer_id in customer_ids:
                pipe.zrevrangebyscore(
                    keys.customer_timeline(customer_id),
                    "+inf",
                    "-inf",
                    start=0,
                    num=limit,
                    withscores=True,
                )
            pages = await pipe.execute()
        items = await timeline_items(self.ctx, [entry for page in pages for entry in page])
        result, at = {}, 0
        for customer_id, page in zip(customer_ids, pages, strict=True):
            result[customer_id] = items[at : at + len(page)]
            at += len(page)
        return result

    async def latest_contacts(
        self, customer_ids: dict[int, str], since_ms: float
    ) -> dict[int, str]:
        """Each customer's latest contact since `since_ms`, by the caller's index (if any)."""
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for customer_id in customer_ids.values():
                pipe.zrevrangebyscore(
                    self.ctx.keys.customer_timeline(customer_id), "+inf", since_ms, start=0, num=1
                )
            latest = await pipe.execute()
        return {i: found[0] for i, found in zip(customer_ids, latest, strict=True) if found}

    async def merge(self, into: str, source: str) -> dict[str, Any]:
        """Join customer `source` into `into`; returns the merged customer."""
        keys = self.ctx.keys
        answer = await self.ctx.scripts.merge_customers(
            keys=[
                keys.identities,
                keys.customer(source),
                keys.customer_identities(source),
                keys.customer_timeline(source),
                keys.customer(into),
                keys.customer_identities(into),
                keys.customer_timeline(into),
                keys.events,
                keys.customer_agents(source),
                keys.customer_agents(into),
            ],
            args=[source, into, self.ctx.clock.now_ms()],
        )
        result = Reply.decode(answer)
        if not result.ok:
            reason = str(result.reason)
            if reason in ("no_from", "no_to"):
                missing = source if reason == "no_from" else into
                raise NotFound(f"no customer {missing!r}", customer_id=missing)
            words = {
                "same_customer": "a customer cannot be merged into itself",
                "from_merged": f"customer {source!r} was already merged into another",
                "to_merged": f"customer {into!r} was merged into another; merge into that one",
            }
            raise Conflict(words[reason], reason=reason)
        return await self.get(into)

    async def erase(self, customer_id: str) -> int:
        """Remove the customer's personal data and every link to them (the customers merged
        into them included); returns how many contacts they had."""
        keys = self.ctx.keys
        for _ in range(5):
            contact_ids = await self.ctx.redis.zrange(keys.customer_timeline(customer_id), 0, -1)
            merged = json.loads(
                await self.ctx.redis.hget(keys.customer(customer_id), "merged_from") or "[]"
            )
            answer = await self.ctx.scripts.erase_customer(
                keys=[
                    keys.identities,
                    keys.external_ids,
                    keys.customer(customer_id),
                    keys.customer_identities(customer_id),
                    keys.customer_timeline(customer_id),
                    keys.events,
                    keys.erasures_pending,
                    keys.contact_changes,
                    keys.wake_pending,
                    keys.customer_agents(customer_id),
                    keys.callbacks,
                    keys.conversations,
                    *(keys.outbound(route) for route in OUTBOUND_ROUTES),
                    *(keys.customer(merged_id) for merged_id in merged),
                    *(
                        key
                        for contact_id in contact_ids
                        for key in (
                            keys.contact(contact_id),
                            keys.contact_body(contact_id),
                            keys.contact_messages(contact_id),
                            keys.contact_message_marks(contact_id),
                        )
                    ),
                ],
                args=[
                    customer_id,
                    self.ctx.clock.now_ms(),
                    len(merged),
                    CONTACT_CHANGES_KEPT,
                    keys.wake_channel,
                    ",".join(OUTBOUND_ROUTES),
                ],
            )
            result = Reply.decode(answer)
            if result.ok:
                return int(result.values[0])
            if result.reason in ("no_customer", "erased"):
                raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)
            if result.reason == "merged":
                raise Conflict(
                    f"customer {customer_id!r} was merged; erase the customer it joined",
                    reason="merged",
                )
        raise Conflict("the customer's contacts kept changing; try again")

    async def update(self, customer_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Set profile fields (None removes one); returns the customer."""
        encoded = CustomerRecord.encode_changes(changes)
        answer = await self.ctx.scripts.update_customer(
            keys=[self.ctx.keys.customer(customer_id), self.ctx.keys.events],
            args=[customer_id, self.ctx.clock.now_ms(), json.dumps(encoded)],
        )
        if not Reply.decode(answer).ok:
            raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)
        return await self.get(customer_id)

    async def timeline(
        self, customer_id: str, limit: int = 20, before: str | None = None
    ) -> dict[str, Any]:
        """The customer's contacts on every channel, newest first, `limit` per page.

        `before` is the `next_before` of the page seen last: "arrival ms:contact id", so that
        contacts arriving in the same millisecond are neither skipped nor repeated.
        """
        redis, keys = self.ctx.redis, self.ctx.keys
        try:  # a merged customer's timeline lives with the one it joined
            current = await self.current_id(customer_id)
        except NotFound:
            current = ""
        if not current or not await redis.exists(keys.customer(current)):
            raise NotFound(f"no customer {customer_id!r}", customer_id=customer_id)
        key = keys.customer_timeline(current)
        if before is None:
            entries = await redis.zrevrangebyscore(
                key, "+inf", "-inf", start=0, num=limit, withscores=True
            )
        else:
            at, _, after = before.partition(":")
            same = await redis.zrevrangebyscore(key, at, at, withscores=True)  # id order, desc
            older = await redis.zrevrangebyscore(
                key, f"({at}", "-inf", start=0, num=limit, withscores=True
            )
            entries = ([(m, s) for m, s in same if not after or m < after] + older)[:limit]
        items = await timeline_items(self.ctx, entries)
        last = items[-1] if len(entries) == limit and items else None
        return {
            "items": items,
            "next_before": f"{last['arrived_at']}:{last['contact_id']}" if last else None,
        }


TIMELINE_FIELDS = (
    "channel",
    "state",
    "queue",
    "rule",
    "agent_id",
    "first_enqueued_at",
    "offered_at",
    "connected_at",
    "completed_at",
    "abandoned_at",
    "disposition",
    "notes",
    "transfers",
    "tags",
    "attributes",
    "body_bytes",
)


async def timeline_items(
    ctx: StoreContext, entries: Sequence[tuple[str, float]]
) -> list[dict[str, Any]]:
    """Timeline entries (contact id, arrival ms) with what each contact shows, in one trip."""
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for contact_id, _ in entries:
            pipe.hmget(ctx.keys.contact(contact_id), *TIMELINE_FIELDS)
        rows = await pipe.execute()
    items = []
    for (contact_id, arrived), row in zip(entries, rows, strict=True):
        record = ContactRecord.decode(dict(zip(TIMELINE_FIELDS, row, strict=True)))
        shown = record.api()
        item: dict[str, Any] = {"contact_id": contact_id, "arrived_at": int(arrived)}
        item.update({name: shown.get(name) for name in TIMELINE_FIELDS})
        items.append(item)
    return items
