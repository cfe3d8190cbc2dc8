"""A web-chat customer's conversation token: it names one contact and when it expires,
signed with a key of its own (made from the engine's signing secret), so it is no bearer
token of the API and reaches nothing but its own conversation."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..errors import Unauthorized

PURPOSE = b"ccaas web chat conversation tokens"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ChatTokens:
    def __init__(self, signing_secret: bytes) -> None:
        self._key = hmac.new(signing_secret, PURPOSE, hashlib.sha256).digest()

    def make(self, contact_id: str, expires_ms: int) -> str:
        body = f"{contact_id}.{expires_ms}"
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, now_ms: int) -> str:
        """The contact the token names; Unauthorized when it is forged, broken or expired."""
        contact_id, _, rest = token.partition(".")
        expires, _, signature = rest.partition(".")
        if not contact_id or not expires.isdigit() or not signature:
            raise Unauthorized("the conversation token is not one", reason="bad_token")
        if not hmac.compare_digest(signature, self._sign(f"{contact_id}.{expires}")):
            raise Unauthorized("the conversation token is not this engine's", reason="bad_token")
        if int(expires) < now_ms:
            raise Unauthorized("the conversation token expired: start again", reason="expired")
        return contact_id

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def user_hash(identity_secret: str, user_id: str) -> str:
    """What a site puts beside its signed-in user's id so the widget's claim is believed:
    hex HMAC-SHA256 of the id with the identity secret (as Chatwoot's identifier_hash)."""
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def user_is_verified(identity_secret: str, user_id: str, given_hash: str) -> bool:
    if not identity_secret or not user_id or not given_hash:
        return False
    return hmac.compare_digest(user_hash(identity_secret, user_id), given_hash.lower())
