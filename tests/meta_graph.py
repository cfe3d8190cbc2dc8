"""A stand-in for Meta's Graph API (WhatsApp Cloud API's send endpoint) on loopback, and
webhook bodies signed as Meta signs them, for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me"
PHONE_NUMBER_ID = "1234567890"
ACCESS_TOKEN = "EAAG-test-token"
WEBHOOK = "/v1/channels/whatsapp/webhook"


class GraphApi:
    """Takes POST /{phone-number-id}/messages; `answers` are the statuses to give next."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answers: list[int] = []
        self.url = ""  # where it listens, once started
        self.app = web.Application()
        self.app.router.add_post("/{phone}/messages", self._messages)

    async def _messages(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if self.answers else 200
        body = await request.json()
        if status != 200:
            error = {"message": "Message failed to send", "type": "OAuthException", "code": 131000}
            if status == 400:
                error = {"message": "Recipient phone number not in allowed list", "code": 131030}
            return web.json_response({"error": error}, status=status)
        self.sent.append(body)
        self.headers.append(dict(request.headers))
        wamid = f"wamid.out{len(self.sent)}"
        if "recipient" in body:  # Messenger's Send API
            return web.json_response({"recipient_id": body["recipient"]["id"],
                                      "message_id": f"m_out{len(self.sent)}"})  # fmt: skip
        to = body["to"]
        return web.json_response(
            {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
             "messages": [{"id": wamid}]}
        )  # fmt: skip


async def start_graph() -> tuple[GraphApi, TestServer]:
    graph = GraphApi()
    server = TestServer(graph.app)
    await server.start_server()
    graph.url = str(server.make_url("")).rstrip("/")
    return graph, server


def signed(body: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}


async def deliver(api: TestClient, body: dict[str, Any], secret: str = APP_SECRET) -> Any:
    raw, headers = signed(body, secret)
    return await api.post(WEBHOOK, data=raw, headers=headers)


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550001111",
                                         "phone_number_id": PHONE_NUMBER_ID},
                            **value,
                        },
                    }
                ],
            }
        ],
    }  # fmt: skip


def text_message(
    wamid: str, text: str, wa_id: str = "447911123456", name: str = "Jo"
) -> dict[str, Any]:
    return _envelope(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": "1764626400",
                          "type": "text", "text": {"body": text}}],
        }
    )  # fmt: skip


def status_update(wamid: str, state: str, ours: str, **extra: Any) -> dict[str, Any]:
    return _envelope(
        {
            "statuses": [{"id": wamid, "status": state, "timestamp": "1764626460",
                          "recipient_id": "447911123456", "biz_opaque_callback_data": ours,
                          **extra}],
        }
    )  # fmt: skip


class BotApi:
    """A stand-in for Telegram's Bot API: POST /bot{token}/sendMessage."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.url = ""
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/sendMessage", self._send)

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sent.append(body)
        self.tokens.append(request.match_info["token"])
        return web.json_response(
            {"ok": True, "result": {"message_id": len(self.sent), "chat": {"id": body["chat_id"]}}}
        )


async def start_bot_api() -> tuple[BotApi, TestServer]:
    bot = BotApi()
    server = TestServer(bot.app)
    await server.start_server()
    bot.url = str(server.make_url("")).rstrip("/")
    return bot, server
