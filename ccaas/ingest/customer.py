"""The customer of an arriving contact: its identities, resolution, and what rules see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ..domain.customer_profile import FROM_CONTACTS, profile_from_contact
from ..domain.identity import IDENTITY_FIELDS, Identity, InvalidIdentity, identity
from ..domain.intake import NewContact
from ..domain.rules.facts import CUSTOMER_DEFAULTS
from ..errors import InvalidInput, NotFound
from ..store.customers import CustomerRepository

log = structlog.get_logger("ccaas.ingest")


CustomerWarning = dict[str, str]  # {"field": "customer.phone", "message": "..."}


@dataclass(frozen=True, slots=True)
class Wanted:
    """Who a contact says its customer is: identities, an explicit id, profile fields, and
    what of it could not be used (the contact is queued all the same); `given` is the
    contact's customer object with its profile fields typed, as the rules see it."""

    identities: tuple[Identity, ...]
    customer_id: str | None
    profile: dict[str, Any]
    warnings: tuple[CustomerWarning, ...] = ()
    given: dict[str, Any] | None = None

    @property
    def anyone(self) -> bool:
        return bool(self.identities or self.customer_id)


NOBODY = Wanted((), None, {})  # a contact without a customer object (most bench traffic)


def wanted_customer(contact: NewContact, region: str) -> Wanted:
    """Read the contact's customer object; InvalidInput names a bad profile field. An
    identity that does not parse (a withheld caller id, a mistyped email) is left out with a
    warning: the call is never lost because of who it says it is from."""
    if not contact.customer:
        return NOBODY
    given = contact.customer
    found, warnings = [], []
    for kind in IDENTITY_FIELDS:
        raw = given.get(kind)
        if raw in (None, ""):
            continue
        try:
            found.append(identity(kind, raw, region))  # not text: reported, never guessed
        except InvalidIdentity as exc:
            warnings.append(
                {"field": f"customer.{kind}", "message": f"{exc}; the contact is queued without it"}
            )
    given_id = given.get("customer_id")
    if given_id is not None and not isinstance(given_id, str):
        raise InvalidInput("customer_id must be a string", field="customer.customer_id")
    typed = profile_from_contact(contact.customer)
    profile = {k: v for k, v in typed.items() if k in FROM_CONTACTS}
    return Wanted(tuple(found), given_id, profile, tuple(warnings), {**given, **typed})


def routing_view(profile: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
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


async def resolve(
    customers: CustomerRepository, wanted: Wanted
) -> tuple[tuple[str, dict[str, Any]] | None, tuple[CustomerWarning, ...]]:
    """The contact's customer id and profile (created if new), with what the adapter knows
    saved, and the warnings of what could not be used. A `customer_id` naming nobody
    (unknown, or erased) does not refuse the contact: the customer is found from its
    identities instead, and with none the contact has no customer (a customer made of
    nothing could never be found again)."""
    warnings = wanted.warnings
    try:
        resolved = await customers.resolve(wanted.identities, wanted.customer_id)
    except NotFound:
        if wanted.customer_id is None:
            raise
        instead = (
            "the customer was found from the contact's identities instead"
            if wanted.identities
            else "the contact has no other identity, so it is queued without a customer"
        )
        warnings += (
            {
                "field": "customer.customer_id",
                "message": f"no customer {wanted.customer_id[:80]!r} (unknown or erased); "
                + instead,
            },
        )
        if not wanted.identities:
            return None, warnings
        resolved = await customers.resolve(wanted.identities, None)
    if wanted.profile:
        await customers.update(resolved.customer_id, wanted.profile)
    for identity_key, other in resolved.conflicts:
        log.warning(
            "customer_identity_conflict",
            customer_id=resolved.customer_id,
            other_customer=other,
            identity_kind=identity_key.split(":", 1)[0],
        )
    return (resolved.customer_id, await customers.get(resolved.customer_id)), warnings
