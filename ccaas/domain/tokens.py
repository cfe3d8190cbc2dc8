"""Bearer tokens the engine signs (HS256 JWTs): who, which role, which tenant, until when."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from ..errors import Unauthorized
from .roles import Principal, Role

ALGORITHM = "HS256"
ISSUER = "ccaas"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key is at least as long as the hash
LEEWAY_SECONDS = 30  # replicas' clocks may differ a little: iat and exp are checked this loosely
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "role", "ten", "iss"]


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    expires_at: int  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class TokenSigner:
    """Signs and checks the tokens of one tenant with the engine's secret."""

    secret: bytes
    tenant: str

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the signing secret must be at least {MIN_SECRET_BYTES} bytes")

    def issue(self, principal: Principal, ttl_seconds: int, now: float | None = None) -> Issued:
        """A token for `principal`, valid `ttl_seconds` from `now` (the wall clock)."""
        issued_at = int(time.time() if now is None else now)
        expires_at = issued_at + ttl_seconds
        claims = {
            "iss": ISSUER,
            "sub": principal.subject,
            "role": principal.role.value,
            "ten": self.tenant,
            "iat": issued_at,
            "exp": expires_at,
            "jti": secrets.token_hex(8),
        }
        return Issued(jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires_at)

    def verify(self, token: str) -> Principal:
        """The caller a token names; Unauthorized (saying why) when it is not valid here."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],  # never the algorithm the token names (alg=none)
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired: sign in again") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not valid here: {exc}") from exc
        if claims["ten"] != self.tenant:
            raise Unauthorized("the token is another tenant's")
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthorized(f"the token names no known role: {claims['role']!r}") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token names nobody")
        return Principal(role, subject, int(claims["exp"]))
