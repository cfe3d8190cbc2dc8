"""Sign-in for every route: the bearer token is checked against the roles the route admits.

Each route declares its roles with `@operation(..., roles=...)` (web/openapi.py). A route
that admits PUBLIC needs no token; any other path under /v1/ (the OpenAPI document, the
problem types, a path no route serves) needs a valid token of any role. The caller is kept
in the request (`principal(request)`) for the handlers that narrow an agent to its own desk.
"""

from __future__ import annotations

from aiohttp import web
from structlog.contextvars import bound_contextvars

from ..domain.roles import EVERYONE, PUBLIC, Principal, Role
from ..domain.tokens import TokenSigner
from ..errors import Forbidden, Unauthorized
from .openapi import operation_of
from .problems import Handler

SIGNER = web.AppKey("signer", TokenSigner)
SESSION_SECONDS = web.AppKey("session_seconds", int)  # how long an agent's sign-in lasts
PRINCIPAL = web.RequestKey("principal", Principal)
API_PREFIX = "/v1/"


def allowed_roles(request: web.Request) -> frozenset[Role]:
    described = operation_of(request.match_info.route)
    if described is not None:
        return described.roles
    return EVERYONE if request.path.startswith(API_PREFIX) else PUBLIC


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer <token>`; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized(
            "this call needs a bearer token: send Authorization: Bearer <token> (agents sign "
            "in at POST /v1/auth/sign-in; integrations use `ccaas token create`)"
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    allowed = allowed_roles(request)
    if allowed == PUBLIC:
        return await handler(request)
    signer = request.app.get(SIGNER)
    if signer is None:
        raise Unauthorized("this server signs nobody in: it was built without a signing secret")
    caller = signer.verify(bearer_token(request))
    if caller.role not in allowed:
        names = sorted(role.value for role in allowed)
        raise Forbidden(
            f"a token of role {caller.role.value} may not make this call; it admits "
            + ", ".join(names),
            role=caller.role.value,
            allowed=names,
        )
    request[PRINCIPAL] = caller
    who = {"agent_id": caller.subject} if caller.role is Role.AGENT else {"caller": caller.subject}
    with bound_contextvars(role=caller.role.value, **who):
        return await handler(request)


def principal(request: web.Request) -> Principal:
    """The signed-in caller of a route that admits roles (auth_middleware put it there)."""
    return request[PRINCIPAL]


def require_desk(request: web.Request, agent_id: str) -> None:
    """An agent's token acts on its own desk only; other roles the route admits act on any."""
    caller = principal(request)
    if caller.role is Role.AGENT and caller.subject != agent_id:
        raise Forbidden(
            f"agent {caller.subject!r} may act on its own desk only, not agent {agent_id[:80]!r}'s",
            role=caller.role.value,
        )
