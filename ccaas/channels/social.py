"""What every messaging provider's webhook does with a customer's message: it joins the
open contact of that customer's address on the provider, or starts one; the provider's id
of the message makes a second delivery of it change nothing."""

from __future__ import annotations

import dataclasses

import structlog

from ..domain.intake import NewContact
from ..errors import ContactRejected
from ..ingest.service import Ingest
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository

log = structlog.get_logger("ccaas.social")


async def take_customer_message(
    ctx: StoreContext,
    address: str,
    reference: str,
    text: str,
    contact: NewContact,
    written_ms: int = 0,
) -> str | None:
    """The contact the message is now part of, or None when no queue takes a new one now
    (logged; the provider is answered 200 all the same, or it would send it again for days).
    `contact` is what a new one would be (its delivered_by names the provider; its
    external id is made here); `reference` the provider's id of the message; `written_ms`
    when the customer wrote it, if the provider says."""
    contacts, route = ContactRepository(ctx), contact.delivered_by
    contact_id, external_id = await contacts.conversation(route, address)
    if contact_id is None:
        try:
            result = await Ingest(ctx).enqueue(
                dataclasses.replace(contact, external_id=external_id)
            )
        except ContactRejected as exc:
            log.warning(
                "social_message_refused", provider=route, reference=reference, problem=exc.detail
            )
            return None
        contact_id = result.contact_id
        await contacts.remember_conversation(route, address, contact_id)
        if result.created:
            log.info("social_contact_created", contact_id=contact_id, provider=route)
    posted = await MessageRepository(ctx).post(
        contact_id, "customer", text, reference=reference, written_at=written_ms
    )
    if posted.added:
        log.info(
            "social_message", contact_id=contact_id, provider=route, message_id=posted.message_id
        )
    return contact_id
