"""Agents' messages out through a messaging provider's HTTP API (WhatsApp Cloud API,
Messenger Send API, Telegram Bot API) at a configurable base URL. The provider's reply
window is checked before sending; a chat gets at most one message per `chat_gap_seconds`;
the API busy or away (429, 5xx, no answer) is tried again with backoff; any other refusal
marks the message failed with the API's words, which the agent sees."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.messages import MessageRepository
from ..store.stream_groups import GroupReader
from .delivery import Retry, contact_of, deliver_forever, mark_failed

log = structlog.get_logger("ccaas.social")
REQUEST_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Provider:
    """How one provider's API sends a text: where, with what body and headers, and where its
    answer says the provider's id of the message."""

    route: str  # the contacts' delivered_by, and the outbound stream's name
    name: str  # as the agent reads it: "WhatsApp"
    url: str
    body: Callable[[str, str, str], dict[str, Any]]  # (to, text, our ids) -> JSON body
    sent_id: Callable[[dict[str, Any]], str]
    headers: dict[str, str] = field(default_factory=dict)
    # statuses name only the provider's id (no data of ours comes back): remember it
    remembers_ids: bool = False


class SocialSender:
    def __init__(
        self, ctx: StoreContext, provider: Provider, consumer: str, chat_gap_seconds: float = 1.0
    ) -> None:
        self.ctx, self.provider, self.consumer = ctx, provider, consumer
        self.chat_gap = chat_gap_seconds
        self.contacts = ContactRepository(ctx)
        self.messages = MessageRepository(ctx)
        self._last_sent: dict[str, float] = {}  # address -> when (monotonic) last sent to

    def _reader(self) -> GroupReader:
        stream = self.ctx.keys.outbound(self.provider.route)
        return GroupReader(self.ctx, stream, f"{self.provider.route}-sender", self.consumer)

    async def prepare(self) -> None:
        await self._reader().create_group()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def deliver(fields: dict[str, str]) -> None:
                await self._deliver(session, fields)

            await deliver_forever(
                self._reader(), deliver, log, "social_message_deferred", self.messages
            )

    async def _deliver(self, session: aiohttp.ClientSession, fields: dict[str, str]) -> None:
        found = await contact_of(self.contacts, fields)
        if found is None:
            return
        contact_id, message_id, contact = found
        name = self.provider.name
        to = contact.get("reply_to", "")
        if not to:
            await self._failed(contact_id, message_id, f"the customer's {name} id was erased")
            return
        window_ms = int(contact.get("reply_window_seconds") or 0) * 1000
        last = int(contact.get("last_customer_at") or 0)
        if window_ms and self.ctx.clock.now_ms() - last > window_ms:
            hours = window_ms // 3_600_000
            await self._failed(
                contact_id,
                message_id,
                f"outside {name}'s {hours}-hour window: the customer last wrote more than "
                f"{hours} hours ago, so the message cannot reach them",
            )
            return
        await self._wait_for_chat(to)
        body = self.provider.body(to, fields.get("text", ""), f"{contact_id} {message_id}")
        headers = {**self.provider.headers, "Idempotency-Key": message_id}
        try:
            async with session.post(self.provider.url, json=body, headers=headers) as response:
                answer = await _json(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retry(f"the {name} API did not answer: {exc or type(exc).__name__}") from exc
        self._last_sent[to] = time.monotonic()
        if status == 429 or status >= 500:
            raise Retry(f"the {name} API answered {status}: {_error_words(answer)}")
        if status >= 400:
            words = f"{name} refused it: {_error_words(answer)}"
            await self._failed(contact_id, message_id, words)
            return
        if self.provider.remembers_ids:
            provider_id = _sent_id(self.provider, answer)
            if provider_id:
                await self.messages.remember_provider_id(
                    self.provider.route, provider_id, contact_id, message_id
                )
        await self.messages.mark_delivery(contact_id, message_id, "sent")
        log.info("social_message_sent", contact_id=contact_id, message_id=message_id, provider=name)

    async def _wait_for_chat(self, to: str) -> None:
        """At most one message per chat_gap to one chat (the providers' per-user limits)."""
        last = self._last_sent.get(to)
        if last is not None:
            wait = self.chat_gap - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
        if len(self._last_sent) > 10_000:  # forget chats long quiet
            cutoff = time.monotonic() - self.chat_gap
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}

    async def _failed(self, contact_id: str, message_id: str, reason: str) -> None:
        await mark_failed(
            self.messages, contact_id, message_id, reason, log, "social_message_failed"
        )


def _sent_id(provider: Provider, answer: dict[str, Any]) -> str:
    try:
        return str(provider.sent_id(answer) or "")
    except (KeyError, IndexError, TypeError):
        return ""


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        found = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return found if isinstance(found, dict) else {}


def _error_words(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    if isinstance(error, dict):  # Meta's Graph API
        code = error.get("code")
        message = str(error.get("message") or "an error")
        return f"{message} (error {code})" if code is not None else message
    if isinstance(answer.get("description"), str):  # Telegram's Bot API
        return f"{answer['description']} (error {answer.get('error_code')})"
    return "no reason given"


def whatsapp(api_url: str, phone_number_id: str, access_token: str) -> Provider:
    from .whatsapp_format import outbound_message

    return Provider(
        route="whatsapp",
        name="WhatsApp",
        url=f"{api_url.rstrip('/')}/{phone_number_id}/messages",
        body=outbound_message,
        sent_id=lambda answer: answer["messages"][0]["id"],
        headers={"Authorization": f"Bearer {access_token}"},
    )


def messenger(api_url: str, page_id: str, page_token: str) -> Provider:
    from .messenger import messenger_body

    return Provider(
        route="messenger",
        name="Messenger",
        url=f"{api_url.rstrip('/')}/{page_id}/messages",
        body=messenger_body,
        sent_id=lambda answer: answer["message_id"],
        headers={"Authorization": f"Bearer {page_token}"},
        remembers_ids=True,
    )


def telegram(api_url: str, bot_token: str) -> Provider:
    from .telegram import telegram_body

    return Provider(
        route="telegram",
        name="Telegram",
        url=f"{api_url.rstrip('/')}/bot{bot_token}/sendMessage",
        body=telegram_body,
        sent_id=lambda answer: answer["result"]["message_id"],
    )
