"""Twilio's request signature (X-Twilio-Signature): base64 of HMAC-SHA1, keyed with the
account's auth token, over the URL Twilio requested followed by each POST parameter's name
and value, sorted by name."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    # a name given twice keeps each value; sorting the pairs sorts by name, then by value
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_by_twilio(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str
) -> bool:
    """Whether `given` is the signature of this request (compared in constant time)."""
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), given.encode())
