"""Twilio's side of the voice webhooks for tests: form posts signed as Twilio signs them."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from ccaas.channels.twilio_signature import twilio_signature
from ccaas.domain.clock import ManualClock

PUBLIC_URL = "https://cc.example.com"
AUTH_TOKEN = "twilio-test-auth-token"
BASE = "/v1/channels/voice/twilio"


class Twilio:
    def __init__(
        self, api: TestClient, token: str = AUTH_TOKEN, clock: ManualClock | None = None
    ) -> None:
        self.api, self.token, self.clock = api, token, clock

    async def post(
        self, path: str, params: dict[str, str], signature: str | None = None
    ) -> ClientResponse:
        """POST `params` to `path` (or to a full URL one of our TwiML answers gave)."""
        if path.startswith(PUBLIC_URL):
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        signed = twilio_signature(self.token, PUBLIC_URL + path, params.items())
        headers = {"X-Twilio-Signature": signed if signature is None else signature}
        answer = await self.api.post(path, data=params, headers=headers)
        if self.clock is not None:
            self.clock.advance(1)
        return answer

    async def twiml(self, path: str, params: dict[str, str]) -> ElementTree.Element:
        response = await self.post(path, params)
        assert response.status == 200, await response.text()
        assert response.content_type == "text/xml"
        return ElementTree.fromstring(await response.text())


def call(sid: str, caller: str = "+442079460001", **more: str) -> dict[str, str]:
    """The parameters of a ringing inbound call, as Twilio sends them."""
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": caller,
        "To": "+442079460999",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **more,
    }


def said(root: ElementTree.Element) -> str:
    return " ".join(element.text or "" for element in root.iter("Say"))
