"""Agents' WhatsApp messages out through the Cloud API (POST {api}/{phone-number-id}/messages)
at a configurable base URL. Each carries our ids back in its statuses; the 24-hour window is
checked before sending; a chat gets at most one message per `chat_gap_seconds`; the API
busy or away (429, 5xx, no answer) is tried again with backoff; any other refusal marks
the message failed with the API's words, which the agent sees."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import structlog

from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from ..store.stream_groups import GroupReader
from .delivery import Retry, contact_of, deliver_forever, mark_failed
from .whatsapp import ROUTE
from .whatsapp_format import outbound_message

log = structlog.get_logger("ccaas.whatsapp")
GROUP = "whatsapp-sender"
REQUEST_TIMEOUT_SECONDS = 10


class WhatsAppSender:
    def __init__(
        self,
        ctx: StoreContext,
        api_url: str,
        phone_number_id: str,
        access_token: str,
        consumer: str,
        chat_gap_seconds: float = 1.0,
    ) -> None:
        self.ctx, self.consumer = ctx, consumer
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self.access_token, self.chat_gap = access_token, chat_gap_seconds
        self.contacts = ContactRepository(ctx)
        self.messages = MessageRepository(ctx)
        self._last_sent: dict[
            str, float
        ] = {}  # WhatsApp id -> when (monotonic) it was last sent to

    def _reader(self) -> GroupReader:
        return GroupReader(self.ctx, self.ctx.keys.outbound(ROUTE), GROUP, self.consumer)

    async def prepare(self) -> None:
        await self._reader().create_group()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def deliver(fields: dict[str, str]) -> None:
                await self._deliver(session, fields)

            await deliver_forever(self._reader(), deliver, log, "whatsapp_message_deferred")

    async def _deliver(self, session: aiohttp.ClientSession, fields: dict[str, str]) -> None:
        found = await contact_of(self.contacts, fields)
        if found is None:
            return
        contact_id, message_id, contact = found
        wa_id = contact.get("reply_to", "")
        if not wa_id:
            await self._failed(contact_id, message_id, "the customer's WhatsApp id was erased")
            return
        window_ms = int(contact.get("reply_window_seconds") or 0) * 1000
        last = int(contact.get("last_customer_at") or 0)
        if window_ms and self.ctx.clock.now_ms() - last > window_ms:
            await self._failed(
                contact_id,
                message_id,
                "outside WhatsApp's 24-hour window: the customer last wrote more than 24 hours "
                "ago, so only a template message can reach them",
            )
            return
        await self._wait_for_chat(wa_id)
        body = outbound_message(wa_id, fields.get("text", ""), f"{contact_id} {message_id}")
        headers = {"Authorization": f"Bearer {self.access_token}", "Idempotency-Key": message_id}
        try:
            async with session.post(self.url, json=body, headers=headers) as response:
                answer = await _json(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retry(f"the WhatsApp API did not answer: {exc or type(exc).__name__}") from exc
        self._last_sent[wa_id] = time.monotonic()
        if status == 429 or status >= 500:
            raise Retry(f"the WhatsApp API answered {status}: {_error_words(answer)}")
        if status >= 400:
            await self._failed(
                contact_id, message_id, f"WhatsApp refused it: {_error_words(answer)}"
            )
            return
        await self.messages.mark_delivery(contact_id, message_id, "sent")
        log.info("whatsapp_message_sent", contact_id=contact_id, message_id=message_id)

    async def _wait_for_chat(self, wa_id: str) -> None:
        """At most one message per chat_gap to one chat (the API's per-user limit)."""
        last = self._last_sent.get(wa_id)
        if last is not None:
            wait = self.chat_gap - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
        if len(self._last_sent) > 10_000:  # forget chats long quiet
            cutoff = time.monotonic() - self.chat_gap
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}

    async def _failed(self, contact_id: str, message_id: str, reason: str) -> None:
        await mark_failed(
            self.messages, contact_id, message_id, reason, log, "whatsapp_message_failed"
        )


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        found = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return found if isinstance(found, dict) else {}


def _error_words(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message") or "an error")
        return f"{message} (error {code})" if code is not None else message
    return "no reason given"
