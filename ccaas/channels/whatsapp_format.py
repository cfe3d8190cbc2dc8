"""The WhatsApp Cloud API's webhook as the engine reads it (customers' messages, delivery
statuses of ours) and the message it sends; Meta's signature over the raw body."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

SIGNATURE_HEADER = "X-Hub-Signature-256"
STATES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
IGNORED = frozenset({"reaction", "unsupported", "system", "ephemeral", "request_welcome"})
_PLACEHOLDER = {  # what the conversation shows of a message that is not text
    "image": "[an image]",
    "audio": "[a voice message]",
    "video": "[a video]",
    "document": "[a document]",
    "sticker": "[a sticker]",
    "location": "[a location]",
    "contacts": "[a contact card]",
}


def signed_by_meta(app_secret: str, raw_body: bytes, header: str) -> bool:
    """Whether `header` ("sha256=<hex>") is the HMAC-SHA256 of the raw body with the app
    secret (compared in constant time)."""
    expected = "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    wamid: str  # WhatsApp's id of the message: the same when the webhook is sent again
    wa_id: str  # the customer's WhatsApp id (their number, digits only)
    name: str  # their profile name ("" unknown)
    text: str
    written_ms: int = 0  # when the customer wrote it (Meta may deliver it much later)


@dataclass(frozen=True, slots=True)
class Status:
    wamid: str
    state: str  # sent | delivered | read | failed
    reason: str  # why it failed ("" otherwise)
    ours: str  # biz_opaque_callback_data: "<contact id> <message id>" as we sent it


def read_webhook(payload: Mapping[str, Any]) -> tuple[list[CustomerMessage], list[Status]]:
    """The customers' messages and the statuses in a webhook's body; InvalidInput naming
    the field when it is not the documented shape."""
    if payload.get("object") != "whatsapp_business_account":
        raise InvalidInput("object must be whatsapp_business_account", field="object")
    messages: list[CustomerMessage] = []
    statuses: list[Status] = []
    for e, entry in enumerate(_list(payload, "entry", "entry")):
        for c, change in enumerate(_list(entry, "changes", f"entry.{e}.changes")):
            value = _dict(change).get("value")
            if not isinstance(value, dict):
                raise InvalidInput("value must be an object", field=f"entry.{e}.changes.{c}.value")
            people = value.get("contacts")
            names = {
                str(person.get("wa_id")): str(_dict(person.get("profile")).get("name") or "")
                for person in (people if isinstance(people, list) else [])
                if isinstance(person, dict)
            }
            where = f"entry.{e}.changes.{c}.value"
            for m, message in enumerate(_list(value, "messages", f"{where}.messages", True)):
                if isinstance(message, dict) and message.get("type") in IGNORED:
                    continue  # a reaction, a system notice: nothing the customer said
                messages.append(_message(message, names, f"{where}.messages.{m}"))
            for s, status in enumerate(_list(value, "statuses", f"{where}.statuses", True)):
                statuses.append(_status(status, f"{where}.statuses.{s}"))
    return messages, statuses


def _dict(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else {} (a field of the wrong shape reads as absent)."""
    return value if isinstance(value, dict) else {}


def _list(parent: Any, name: str, field: str, optional: bool = False) -> list[Any]:
    found = parent.get(name) if isinstance(parent, dict) else None
    if found is None and optional:
        return []
    if not isinstance(found, list):
        raise InvalidInput(f"{name} must be a list", field=field)
    return found


def _text(value: Any, field: str, most: int) -> str:
    if not isinstance(value, str) or not value or len(value) > most:
        raise InvalidInput(f"must be text of 1 to {most} characters", field=field)
    return value


def _message(message: Any, names: Mapping[str, str], field: str) -> CustomerMessage:
    if not isinstance(message, dict):
        raise InvalidInput("a message must be an object", field=field)
    wa_id = _text(message.get("from"), f"{field}.from", 32)
    if not wa_id.isdigit():
        raise InvalidInput(
            "from must be the customer's WhatsApp id (digits)", field=f"{field}.from"
        )
    kind = message.get("type")
    if kind == "text":
        text = _text(_dict(message.get("text")).get("body"), f"{field}.text.body", 4096)
    elif kind == "interactive":
        reply = _dict(message.get("interactive"))
        chosen = _dict(reply.get("button_reply")) or _dict(reply.get("list_reply"))
        text = str(chosen.get("title") or "[a choice]")
    elif kind == "button":
        text = str(_dict(message.get("button")).get("text") or "[a button]")
    elif isinstance(kind, str) and kind in _PLACEHOLDER:
        caption = _dict(message.get(kind)).get("caption")
        text = _PLACEHOLDER[kind] + (f" {caption}" if isinstance(caption, str) else "")
    else:
        text = f"[a {str(kind)[:40]} message]"  # a kind this engine does not read yet
    written = message.get("timestamp")
    return CustomerMessage(
        wamid=_text(message.get("id"), f"{field}.id", 200),
        wa_id=wa_id,
        name=names.get(wa_id, "")[:200],
        text=text[:4000],
        written_ms=int(written) * 1000 if isinstance(written, str) and written.isdigit() else 0,
    )


def _status(status: Any, field: str) -> Status:
    if not isinstance(status, dict):
        raise InvalidInput("a status must be an object", field=field)
    state = STATES.get(str(status.get("status")))
    if state is None:
        raise InvalidInput(
            "status must be sent, delivered, read or failed", field=f"{field}.status"
        )
    errors = status.get("errors")
    first = _dict(errors[0]) if isinstance(errors, list) and errors else {}
    reason = str(first.get("title") or first.get("message") or "") if state == "failed" else ""
    code = first.get("code")
    if reason and code is not None:
        reason = f"{reason} (WhatsApp error {code})"
    opaque = status.get("biz_opaque_callback_data")
    return Status(
        wamid=_text(status.get("id"), f"{field}.id", 200),
        state=state,
        reason=reason[:300],
        ours=opaque if isinstance(opaque, str) else "",
    )


def outbound_message(wa_id: str, text: str, ours: str) -> dict[str, Any]:
    """The body of POST /{phone-number-id}/messages for a text message; `ours` comes back
    in each of its statuses (biz_opaque_callback_data)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
        "type": "text",
        "text": {"preview_url": False, "body": text},
        "biz_opaque_callback_data": ours,
    }
