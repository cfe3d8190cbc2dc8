"""Agents' email replies out through an SMTP relay, threaded under the customer's mail.
A reply the relay takes is marked sent; one it refuses for good (5xx) is marked failed with
the relay's words; one it cannot take now (4xx, unreachable) is tried again, with backoff."""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import ClassVar

import structlog

from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from ..store.stream_groups import GroupReader
from .delivery import Retry, contact_of, deliver_forever, mark_failed
from .email_format import domain_of, our_message_id, reply
from .email_in import ROUTE
from .service_url import ServiceUrl

log = structlog.get_logger("ccaas.email")
GROUP = "smtp-relay"
SEND_TIMEOUT_SECONDS = 30


class Relay(ServiceUrl):
    """The relay of CCAAS_SMTP_RELAY_URL: smtp://[user[:password]@]host[:port] (25; STARTTLS
    when the relay offers it) or smtps:// (465, TLS from the start)."""

    SETTING = "CCAAS_SMTP_RELAY_URL"
    SCHEMES: ClassVar[dict[str, tuple[int, bool]]] = {"smtp": (25, False), "smtps": (465, True)}

    def send(self, mail: EmailMessage) -> None:
        """Hand the mail to the relay (blocking: run it in a thread)."""
        context = ssl.create_default_context()
        if self.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SEND_TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_SECONDS)
        with client:
            client.ehlo()
            if not self.tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(mail)


class EmailRelay:
    def __init__(self, ctx: StoreContext, relay: Relay, sender: str, consumer: str) -> None:
        self.ctx, self.relay, self.sender, self.consumer = ctx, relay, sender, consumer
        self.domain = domain_of(sender)
        self.contacts = ContactRepository(ctx)
        self.messages = MessageRepository(ctx)

    def _reader(self) -> GroupReader:
        return GroupReader(self.ctx, self.ctx.keys.outbound(ROUTE), GROUP, self.consumer)

    async def prepare(self) -> None:
        """The group, reading from now on (before the engine says it is up)."""
        await self._reader().create_group()

    async def run(self) -> None:
        await deliver_forever(
            self._reader(), self._deliver, log, "email_reply_deferred", self.messages
        )

    async def _deliver(self, fields: dict[str, str]) -> None:
        found = await contact_of(self.contacts, fields)
        if found is None:
            return
        contact_id, message_id, contact = found
        to = contact.get("reply_to", "")
        if not to:
            await self._failed(fields, "the customer's address was erased")
            return
        refs = await self.messages.references(contact_id)
        customer_ids = [ref for _, ref in refs]
        mail = reply(
            sender=self.sender,
            to=to,
            subject=_subject(contact),
            text=fields.get("text", ""),
            message_id=our_message_id(message_id, contact_id, self.domain),
            in_reply_to=customer_ids[-1] if customer_ids else contact.get("external_id", ""),
            references=customer_ids,
        )
        try:
            await asyncio.to_thread(self.relay.send, mail)
        except (smtplib.SMTPException, OSError) as exc:
            if not _permanent(exc):
                raise Retry(_words(exc)) from exc  # the relay cannot take it now
            await self._failed(fields, _words(exc))
            return
        await self.messages.mark_delivery(contact_id, message_id, "sent")
        log.info("email_reply_sent", contact_id=contact_id, message_id=message_id)

    async def _failed(self, fields: dict[str, str], reason: str) -> None:
        contact_id, message_id = fields.get("contact", ""), fields.get("message", "")
        await mark_failed(self.messages, contact_id, message_id, reason, log, "email_reply_failed")


def _subject(contact: dict[str, str]) -> str:
    attributes = json.loads(contact.get("attributes") or "{}")
    subject = attributes.get("subject") if isinstance(attributes, dict) else None
    return str(subject) if subject else "Your message"


def _permanent(exc: Exception) -> bool:
    """Refused for good: the recipient (5xx to RCPT) or the message itself (5xx to DATA).
    A refused sign-in or sender is the relay's setting, not this message: tried again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def _words(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {message!r}" for code, message in exc.recipients.values())
    code, error = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if code is not None:
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"the relay said {code} {text}"
    return str(exc) or type(exc).__name__
