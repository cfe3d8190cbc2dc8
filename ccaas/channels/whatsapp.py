"""WhatsApp Cloud API webhooks: Meta's subscription check, then customers' messages (a new
contact, or the open one of that WhatsApp id) and the delivery statuses of agents'
messages. Every POST must carry Meta's signature over its raw body, checked before it is
parsed; a message sent again (same wamid) changes nothing."""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from aiohttp import web

from ..domain.intake import NewContact
from ..domain.models import Channel
from ..domain.problems import json_object
from ..errors import ContactRejected, NotConfigured, NotFound, Unauthorized
from ..ingest.service import Ingest
from ..store.contacts import ContactRepository
from ..store.messages import MessageRepository
from .webhooks import BoundChannel, Webhook
from .whatsapp_format import SIGNATURE_HEADER, CustomerMessage, Status, read_webhook, signed_by_meta

log = structlog.get_logger("ccaas.whatsapp")
PATH = "/v1/channels/whatsapp/webhook"
ROUTE = "whatsapp"  # the outbound route of WhatsApp contacts (whatsapp_out.py)
REPLY_WINDOW_SECONDS = 24 * 3600  # agents answer within 24 hours of the customer's message


class WhatsApp(BoundChannel):
    name = "WhatsApp"

    def __init__(self, app_secret: str, verify_token: str) -> None:
        super().__init__()
        self.app_secret, self.verify_token = app_secret, verify_token

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

    async def verify(self, request: web.Request) -> web.Response:
        self._configured()
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            token.encode(), self.verify_token.encode()
        ):
            raise Unauthorized(
                "hub.verify_token is not this engine's (CCAAS_WHATSAPP_VERIFY_TOKEN)"
            )
        return web.Response(text=query.get("hub.challenge", "")[:200], content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        self._configured()
        raw = await request.read()  # larger than CCAAS_MAX_BODY_BYTES: 413
        if not signed_by_meta(self.app_secret, raw, request.headers.get(SIGNATURE_HEADER, "")):
            raise Unauthorized(
                f"the {SIGNATURE_HEADER} header does not sign this body (with the app secret)",
                reason="bad_signature",
            )
        messages, statuses = read_webhook(json_object(raw))
        refused = []
        for message in messages:
            try:
                await self._message(message)
            except ContactRejected as exc:  # no queue takes it now: said, not retried
                log.warning("whatsapp_message_refused", wamid=message.wamid, problem=exc.detail)
                refused.append({"wamid": message.wamid, "detail": exc.detail})
        for status in statuses:
            await self._status(status)
        return web.json_response({"refused": refused})

    async def _message(self, message: CustomerMessage) -> None:
        contacts, messages = ContactRepository(self.ctx), MessageRepository(self.ctx)
        contact_id = await contacts.open_conversation(ROUTE, message.wa_id)
        if contact_id is None:
            customer: dict[str, Any] = {"phone": "+" + message.wa_id}
            if message.name:
                customer["name"] = message.name
            result = await Ingest(self.ctx).enqueue(
                NewContact(
                    channel=Channel.SOCIAL,
                    external_id=f"wa:{message.wamid}",
                    customer=customer,
                    attributes={"provider": "whatsapp", "profile_name": message.name},
                    delivered_by=ROUTE,
                    reply_to=message.wa_id,
                    reply_window_seconds=REPLY_WINDOW_SECONDS,
                )
            )
            contact_id = result.contact_id
            await contacts.remember_conversation(ROUTE, message.wa_id, contact_id)
            if result.created:
                log.info("whatsapp_contact_created", contact_id=contact_id)
        posted = await messages.post(contact_id, "customer", message.text, reference=message.wamid)
        if posted.added:
            log.info("whatsapp_message", contact_id=contact_id, message_id=posted.message_id)

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

    def _configured(self) -> None:
        if not self.app_secret or not self.verify_token:
            raise NotConfigured(
                "WhatsApp is not configured: set CCAAS_WHATSAPP_APP_SECRET and "
                "CCAAS_WHATSAPP_VERIFY_TOKEN"
            )
