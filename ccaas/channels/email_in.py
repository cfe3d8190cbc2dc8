"""Inbound email over SMTP (aiosmtpd on the engine's event loop): a message that answers an
open contact's thread joins its conversation, any other starts a contact. The sender is
told 250 only once the write is durable in Redis, and 451 (try again) when it failed."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from ..domain.intake import NewContact
from ..domain.models import Channel, ContactState
from ..errors import CcaasError, Conflict, ContactRejected, NotFound
from ..ingest.payloads import MAX_MESSAGE_TEXT
from ..ingest.service import Ingest
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from .email_format import InboundEmail, UnreadableEmail, contact_of_our_id, read_email

log = structlog.get_logger("ccaas.email")
MAX_BODY_TEXT = 512 * 1024  # what the body store keeps of one email's text
ROUTE = "smtp"  # the outbound route of email contacts that came in here (email_out.py)
_ENDED = (ContactState.COMPLETED.value, ContactState.ABANDONED.value)


class InboundMail:
    """aiosmtpd's handler: one method per SMTP command it cares about."""

    def __init__(self, ctx: StoreContext, our_domain: str) -> None:
        self.ctx, self.our_domain = ctx, our_domain
        self.ingest = Ingest(ctx)
        self.contacts = ContactRepository(ctx)
        self.messages = MessageRepository(ctx)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail = read_email(raw, str(envelope.mail_from or ""))
        except (UnreadableEmail, ValueError) as exc:  # never readable: refused for good
            return f"550 5.6.0 {exc}"[:400]
        try:
            await self.take(mail)
        except UnreadableEmail as exc:
            return f"550 5.7.0 {exc}"[:400]
        except ContactRejected as exc:
            log.info("email_refused", reason=exc.fields.get("reason"), problem=exc.detail)
            return f"550 5.7.1 not taken: {exc.detail}"[:400]
        except CcaasError as exc:
            if exc.status < 500 and not isinstance(exc, Conflict):
                log.info("email_refused", problem=exc.detail)
                return f"550 5.6.0 not taken: {exc.detail}"[:400]
            log.warning("email_not_stored", problem=exc.detail)
            return "451 4.3.0 the message could not be stored; try again later"
        except Exception:  # Redis down or a fault: the sender keeps it and tries again
            log.exception("email_not_stored")
            return "451 4.3.0 the message could not be stored; try again later"
        return "250 2.0.0 taken"

    async def take(self, mail: InboundEmail) -> str:
        """The contact the email is now part of: the open contact whose thread it answers
        (only if it comes from that contact's customer, the address our replies go to), or
        a new one."""
        text = _conversation_text(mail.text)
        for ref in mail.thread_ids:
            contact_id = contact_of_our_id(ref, self.our_domain) or await self.contacts.find(
                Channel.EMAIL.value, ref
            )
            if contact_id is None:
                continue
            try:
                raw = await self.contacts.raw(contact_id)
            except NotFound:
                continue  # a reply to a contact that is gone: it starts a new one
            if raw.get("delivered_by") != ROUTE or raw.get("reply_to") != mail.sender:
                continue  # not this sender's thread: nobody writes into another's contact
            if raw.get("state") in _ENDED or raw.get("erased_at"):
                break  # the thread's contact ended: this email starts a new one
            try:
                posted = await self.messages.post(
                    contact_id, "customer", text, reference=mail.message_id
                )
            except Conflict:
                break  # it takes no message now: a new contact instead
            if posted.added:
                log.info("email_threaded", contact_id=contact_id, message_id=posted.message_id)
            return contact_id
        return await self._new_contact(mail, text)

    async def _new_contact(self, mail: InboundEmail, text: str) -> str:
        customer: dict[str, Any] = {"email": mail.sender}
        if mail.name:
            customer["name"] = mail.name
        existing = await self.contacts.find(Channel.EMAIL.value, mail.message_id)
        if existing is not None:
            earlier = await self.contacts.raw(existing)
            if earlier.get("reply_to") not in (None, "", mail.sender):
                raise UnreadableEmail(  # a Message-ID is one sender's: not "the same mail"
                    "a message with this Message-ID was taken before from another sender"
                )
        result = await self.ingest.enqueue(
            NewContact(
                channel=Channel.EMAIL,
                external_id=mail.message_id,
                customer=customer,
                attributes={"subject": mail.subject} if mail.subject else {},
                delivered_by=ROUTE,
                reply_to=mail.sender,
            )
        )
        contact_id = result.contact_id
        # sent again after a failure half-way, these finish what the first attempt began
        if result.created or not await self.contacts.has_body(contact_id):
            await self.contacts.attach_body(contact_id, mail.text[:MAX_BODY_TEXT], "email")
        try:
            await self.messages.post(contact_id, "customer", text, reference=mail.message_id)
        except Conflict:  # it ended before this retry: its body keeps the mail
            log.info("email_after_its_contact_ended", contact_id=contact_id)
        if result.created:
            log.info("email_contact_created", contact_id=contact_id)
        return contact_id


def _conversation_text(text: str) -> str:
    """What the conversation shows: the text, shortened to a message's length (the body
    store keeps it whole)."""
    text = text or "(no text)"
    if len(text) <= MAX_MESSAGE_TEXT:
        return text
    return text[: MAX_MESSAGE_TEXT - 40].rstrip() + "\n[... the whole email is in its body]"


async def listen(
    ctx: StoreContext, host: str, port: int, max_bytes: int, our_domain: str
) -> asyncio.Server:
    """The SMTP listener on the running loop; closing the server stops it."""
    handler = InboundMail(ctx, our_domain)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            hostname=our_domain,
            ident="ccaas",
            loop=loop,
        ),
        host,
        port,
    )
