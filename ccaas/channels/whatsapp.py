"""WhatsApp Cloud API webhooks: Meta's subscription check, then customers' messages (a new
contact, or the open one of that WhatsApp id) and the delivery statuses of agents'
messages. Every POST must carry Meta's signature over its raw body, checked before it is
parsed; a message sent again (same wamid) changes nothing."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from ..domain.intake import NewContact
from ..domain.models import Channel
from ..errors import NotFound
from ..store.messages import MessageRepository
from .meta_webhooks import MetaChannel
from .social import take_customer_message
from .webhooks import Webhook
from .whatsapp_format import CustomerMessage, Status, read_webhook

log = structlog.get_logger("ccaas.whatsapp")
PATH = "/v1/channels/whatsapp/webhook"
ROUTE = "whatsapp"  # the outbound route of WhatsApp contacts (whatsapp_out.py)
REPLY_WINDOW_SECONDS = 24 * 3600  # agents answer within 24 hours of the customer's message


class WhatsApp(MetaChannel):
    name = "WhatsApp"
    SETTINGS = "CCAAS_WHATSAPP_APP_SECRET and CCAAS_WHATSAPP_VERIFY_TOKEN"

    def webhooks(self) -> list[Webhook]:
        return [
            Webhook(
                "GET",
                PATH,
                self.verify,
                "WhatsApp: Meta checks the subscription (hub.challenge)",
                ok={200: "the challenge, as text"},
            ),
            Webhook(
                "POST",
                PATH,
                self.receive,
                "WhatsApp: customers' messages and delivery statuses",
                ok={200: "taken (what was refused, if anything, is listed)"},
                errors={
                    400: "the body is not JSON",
                    413: "the body is larger than CCAAS_MAX_BODY_BYTES",
                    422: "the body is not the documented shape",
                },
            ),
        ]

    async def receive(self, request: web.Request) -> web.Response:
        messages, statuses = read_webhook(await self.signed_body(request))
        refused = []
        for message in messages:
            if await self._message(message) is None:  # no queue takes it now: said, not retried
                refused.append({"wamid": message.wamid})
        for status in statuses:
            await self._status(status)
        return web.json_response({"refused": refused})

    async def _message(self, message: CustomerMessage) -> str | None:
        customer: dict[str, Any] = {"phone": "+" + message.wa_id}
        if message.name:
            customer["name"] = message.name
        new = NewContact(
            channel=Channel.SOCIAL,
            external_id="",  # made per conversation (social.py)
            customer=customer,
            attributes={"provider": "whatsapp", "profile_name": message.name},
            delivered_by=ROUTE,
            reply_to=message.wa_id,
            reply_window_seconds=REPLY_WINDOW_SECONDS,
        )
        return await take_customer_message(
            self.ctx, message.wa_id, message.wamid, message.text, new, message.written_ms
        )

    async def _status(self, status: Status) -> None:
        contact_id, _, message_id = status.ours.partition(" ")
        if not contact_id or not message_id:
            log.info("whatsapp_status_unknown", wamid=status.wamid)  # not one of ours
            return
        try:
            delivery = await MessageRepository(self.ctx).mark_delivery(
                contact_id, message_id, status.state, status.reason
            )
        except NotFound:
            log.info("whatsapp_status_unknown", wamid=status.wamid, contact_id=contact_id)
            return
        if delivery.changed:
            log.info(
                "message_delivery",
                contact_id=contact_id,
                message_id=message_id,
                state=delivery.state,
            )
