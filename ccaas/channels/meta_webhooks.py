"""What Meta's webhooks (WhatsApp, Messenger) share: the subscription check (hub.challenge
answered only to the verify token) and the signature over the raw body (X-Hub-Signature-256,
HMAC-SHA256 with the app secret), checked before the body is read as JSON."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from ..domain.problems import json_object
from ..errors import NotConfigured, Unauthorized
from .webhooks import BoundChannel
from .whatsapp_format import SIGNATURE_HEADER, signed_by_meta


class MetaChannel(BoundChannel):
    SETTINGS = "CCAAS_..._APP_SECRET and CCAAS_..._VERIFY_TOKEN"  # named in refusals

    def __init__(self, app_secret: str, verify_token: str) -> None:
        super().__init__()
        self.app_secret, self.verify_token = app_secret, verify_token

    async def verify(self, request: web.Request) -> web.Response:
        self._configured()
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            token.encode(), self.verify_token.encode()
        ):
            raise Unauthorized(f"hub.verify_token is not this engine's ({self.SETTINGS})")
        return web.Response(text=query.get("hub.challenge", "")[:200], content_type="text/plain")

    async def signed_body(self, request: web.Request) -> dict[str, Any]:
        """The JSON body, once its signature is proven (Unauthorized otherwise)."""
        self._configured()
        raw = await request.read()  # larger than CCAAS_MAX_BODY_BYTES: 413
        if not signed_by_meta(self.app_secret, raw, request.headers.get(SIGNATURE_HEADER, "")):
            raise Unauthorized(
                f"the {SIGNATURE_HEADER} header does not sign this body (with the app secret)",
                reason="bad_signature",
            )
        return json_object(raw)

    def _configured(self) -> None:
        if not self.app_secret or not self.verify_token:
            raise NotConfigured(f"{self.name} is not configured: set {self.SETTINGS}")
