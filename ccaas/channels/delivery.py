"""The loop every native sender shares: read agents' messages waiting on its route (as one
consumer of a group), deliver each in order, drop it from Redis once handed on (or failed
for good), and when the provider cannot take one now, wait (backoff) and start again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from ..errors import NotFound
from ..store.client import is_outage
from ..store.contacts import ContactRepository
from ..store.messages import MessageRepository
from ..store.stream_groups import GroupReader
from ..supervise import raise_if_cancelled

BATCH, BLOCK_MS = 20, 1000
RETRY_SECONDS = (1.0, 2.0, 5.0, 15.0, 60.0)


class Retry(Exception):
    """The provider cannot take the message now: it, and those after it, wait."""


async def deliver_forever(
    reader: GroupReader,
    deliver: Callable[[dict[str, str]], Awaitable[None]],
    log: structlog.stdlib.BoundLogger,
    deferred_event: str,
    messages: MessageRepository | None = None,
) -> None:
    """Deliver each entry in turn; `messages` marks one that fails for an unforeseen reason
    failed, so that it does not block those after it."""
    failures = 0
    while True:
        raise_if_cancelled()
        for entry_id, fields in await reader.read(BATCH, BLOCK_MS):
            try:
                await deliver(fields)
            except Retry as exc:
                log.warning(deferred_event, error=str(exc), attempt=failures)
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                reader.look_again()
                break
            except Exception as exc:
                if is_outage(exc):
                    raise  # Redis away: the duty starts again and reads it again
                # one message that cannot be made must not hold up every one after it
                log.exception("outbound_message_failed", contact_id=fields.get("contact"))
                if messages is not None and fields.get("contact") and fields.get("message"):
                    await mark_failed(
                        messages, fields["contact"], fields["message"],
                        f"it could not be sent ({type(exc).__name__})", log, "outbound_failed",
                    )  # fmt: skip
            failures = 0
            await reader.ack_and_delete([entry_id])


async def mark_failed(
    messages: MessageRepository,
    contact_id: str,
    message_id: str,
    reason: str,
    log: structlog.stdlib.BoundLogger,
    event: str,
) -> None:
    """The message failed for good, with the words the agent sees."""
    log.warning(event, contact_id=contact_id, message_id=message_id, reason=reason)
    try:
        await messages.mark_delivery(contact_id, message_id, "failed", reason[:300])
    except NotFound:
        return


async def contact_of(
    contacts: ContactRepository, fields: dict[str, str]
) -> tuple[str, str, dict[str, str]] | None:
    """The contact id, message id and contact of an outbound entry; None when an erasure
    (or the contact's end of life) removed what it named while it waited."""
    contact_id, message_id = fields.get("contact", ""), fields.get("message", "")
    if not contact_id or not message_id:
        return None
    try:
        return contact_id, message_id, await contacts.raw(contact_id)
    except NotFound:
        return None
