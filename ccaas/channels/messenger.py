"""Facebook Messenger webhooks (Meta's signature over the raw body, as WhatsApp's): a
customer's message joins the open contact of that page-scoped id (PSID) or starts a social
contact whose customer is the handle messenger:<PSID>; `delivery` and `read` events move
the agent's messages forward. Each message id (mid) is added once."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from ..domain.intake import NewContact
from ..domain.models import Channel
from ..errors import InvalidInput, NotFound
from ..store.contacts import ContactRepository
from ..store.messages import MessageRepository
from .meta_webhooks import MetaChannel
from .social import take_customer_message
from .webhooks import Webhook

log = structlog.get_logger("ccaas.messenger")
PATH = "/v1/channels/messenger/webhook"
ROUTE = "messenger"
REPLY_WINDOW_SECONDS = 24 * 3600


class Messenger(MetaChannel):
    name = "Messenger"
    SETTINGS = "CCAAS_MESSENGER_APP_SECRET and CCAAS_MESSENGER_VERIFY_TOKEN"

    def webhooks(self) -> list[Webhook]:
        return [
            Webhook("GET", PATH, self.verify, "Messenger: Meta checks the subscription",
                    ok={200: "the challenge, as text"}),
            Webhook("POST", PATH, self.receive, "Messenger: customers' messages, deliveries, reads",
                    ok={200: "taken"},
                    errors={400: "the body is not JSON", 413: "the body is too large",
                            422: "the body is not the documented shape"}),
        ]  # fmt: skip

    async def receive(self, request: web.Request) -> web.Response:
        payload = await self.signed_body(request)
        if payload.get("object") != "page" or not isinstance(payload.get("entry"), list):
            raise InvalidInput("object must be page, with a list of entry", field="object")
        events = [
            event
            for entry in payload["entry"]
            if isinstance(entry, dict) and isinstance(entry.get("messaging"), list)
            for event in entry["messaging"]
            if isinstance(event, dict)
        ]
        for event in events:
            await self._event(event)
        return web.json_response({})

    async def _event(self, event: dict[str, Any]) -> None:
        sender = event.get("sender")
        psid = str(sender.get("id") or "") if isinstance(sender, dict) else ""
        if not psid.isdigit() or len(psid) > 32:
            raise InvalidInput("sender.id must be a page-scoped id (digits)", field="sender.id")
        message = event.get("message")
        if isinstance(message, dict) and not message.get("is_echo"):
            mid = message.get("mid")
            if not isinstance(mid, str) or not mid or len(mid) > 200:
                raise InvalidInput("message.mid is required", field="message.mid")
            text = message.get("text")
            if not isinstance(text, str) or not text:
                text = "[an attachment]" if message.get("attachments") else "[a message]"
            new = NewContact(
                channel=Channel.SOCIAL,
                external_id="",  # made per conversation (social.py)
                customer={"handle": f"messenger:{psid}"},
                attributes={"provider": "messenger"},
                delivered_by=ROUTE,
                reply_to=psid,
                reply_window_seconds=REPLY_WINDOW_SECONDS,
            )
            await take_customer_message(self.ctx, psid, mid, text[:4000], new)
        delivery = event.get("delivery")
        if isinstance(delivery, dict):
            mids = delivery.get("mids")
            for mid in mids if isinstance(mids, list) else []:
                await self._mark(str(mid)[:200], "delivered")
        read = event.get("read")
        if isinstance(read, dict) and isinstance(read.get("watermark"), int):
            await self._read_up_to(psid, read["watermark"])

    async def _mark(self, mid: str, state: str) -> None:
        messages = MessageRepository(self.ctx)
        found = await messages.by_provider_id(ROUTE, mid)
        if found is None:
            return
        try:
            await messages.mark_delivery(*found, state)
        except NotFound:
            return

    async def _read_up_to(self, psid: str, watermark_ms: int) -> None:
        """Messenger says "read" once for everything sent before the watermark."""
        contact_id = await ContactRepository(self.ctx).open_conversation(ROUTE, psid)
        if contact_id is None:
            return
        messages = MessageRepository(self.ctx)
        for message in await messages.read(contact_id):
            sent_before = message["from"] == "agent" and message["at"] <= watermark_ms
            if sent_before and message["delivery"] not in ("read", "failed"):
                await messages.mark_delivery(contact_id, message["id"], "read")


def messenger_body(psid: str, text: str, ours: str) -> dict[str, Any]:
    """The Send API's body for a reply within the 24-hour window."""
    return {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
