"""Telegram bot webhooks: Telegram sends the secret token it was given with setWebhook in
X-Telegram-Bot-Api-Secret-Token (checked in constant time before anything is read); a
customer's message joins the open contact of that chat or starts a social contact whose
customer is the handle telegram:<user id>. Each update_id is taken once."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from ..domain.intake import NewContact
from ..domain.models import Channel
from ..domain.problems import json_object
from ..errors import InvalidInput, NotConfigured, Unauthorized
from .social import take_customer_message
from .webhooks import BoundChannel, Webhook

PATH = "/v1/channels/telegram/webhook"
ROUTE = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Telegram(BoundChannel):
    name = "Telegram"

    def __init__(self, secret_token: str) -> None:
        super().__init__()
        self.secret_token = secret_token

    def webhooks(self) -> list[Webhook]:
        return [
            Webhook("POST", PATH, self.receive, "Telegram: a bot's update", ok={200: "taken"},
                    errors={400: "the body is not JSON", 413: "the body is too large",
                            422: "the update is not the documented shape"}),
        ]  # fmt: skip

    async def receive(self, request: web.Request) -> web.Response:
        if not self.secret_token:
            raise NotConfigured("Telegram is not configured: set CCAAS_TELEGRAM_SECRET_TOKEN")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
            raise Unauthorized(f"the {SECRET_HEADER} header is not this bot's", reason="bad_secret")
        update = json_object(await request.read())
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            raise InvalidInput("update_id must be a number", field="update_id")
        message = update.get("message") or update.get("edited_message")
        if isinstance(message, dict):
            await self._message(update_id, message)
        return web.json_response({})

    async def _message(self, update_id: int, message: dict[str, Any]) -> None:
        chat, sender = message.get("chat"), message.get("from")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        user_id = sender.get("id") if isinstance(sender, dict) else None
        if not isinstance(chat_id, int) or not isinstance(user_id, int):
            raise InvalidInput("message.chat.id and message.from.id are required", field="message")
        text = message.get("text") or message.get("caption")
        if not isinstance(text, str) or not text:
            text = "[a photo, sticker or file]"
        assert isinstance(sender, dict)
        name = " ".join(
            str(part) for part in (sender.get("first_name"), sender.get("last_name")) if part
        )
        customer: dict[str, Any] = {"handle": f"telegram:{user_id}"}
        if name:
            customer["name"] = name[:200]
        new = NewContact(
            channel=Channel.SOCIAL,
            external_id="",  # made per conversation (social.py)
            customer=customer,
            attributes={"provider": "telegram", "username": str(sender.get("username") or "")},
            delivered_by=ROUTE,
            reply_to=str(chat_id),
        )
        await take_customer_message(self.ctx, str(chat_id), f"tg:{update_id}", text[:4000], new)


def telegram_body(chat_id: str, text: str, ours: str) -> dict[str, Any]:
    return {"chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "text": text}
