"""Sign-in for every route: the bearer token is checked against the roles the route admits.

Each route declares its roles with `@operation(..., roles=...)` (web/openapi.py), or, when it
is left out of the OpenAPI document, with `@admits_roles(...)` here. A route that admits
PUBLIC needs no token; a /v1/ route that declares nothing admits only admins (a forgotten
declaration opens nothing), and a /v1/ path no route serves needs a valid token of any role.
The caller is kept in the request (`principal(request)`) for the handlers that narrow an
agent to its own desk. Every refusal is logged (`request_refused`) with who and from where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web
from structlog.contextvars import bound_contextvars

from ..domain.roles import ADMIN_ONLY, EVERYONE, PUBLIC, Principal, Role
from ..domain.tokens import TokenSigner
from ..errors import Forbidden, Unauthorized
from .openapi import HandlerT, operation_of
from .problems import Handler

log = structlog.get_logger("ccaas.auth")
SIGNER = web.AppKey("signer", TokenSigner)
SESSION_SECONDS = web.AppKey("session_seconds", int)  # how long an agent's sign-in lasts
PRINCIPAL = web.RequestKey("principal", Principal)
API_PREFIX = "/v1/"
QUERY_TOKEN_PATHS = frozenset({"/v1/agent/ws"})  # a browser cannot set a websocket's headers


_UNDOCUMENTED: dict[Callable[..., Any], frozenset[Role]] = {}


def admits_roles(roles: frozenset[Role]) -> Callable[[HandlerT], HandlerT]:
    """The roles a route left out of the OpenAPI document admits."""

    def declare(handler: HandlerT) -> HandlerT:
        _UNDOCUMENTED[handler] = roles
        return handler

    return declare


def allowed_roles(request: web.Request) -> frozenset[Role]:
    route = request.match_info.route
    described = operation_of(route)
    if described is not None:
        return described.roles
    if route.handler in _UNDOCUMENTED:
        return _UNDOCUMENTED[route.handler]
    if not request.path.startswith(API_PREFIX):
        return PUBLIC
    return ADMIN_ONLY if route.resource is not None else EVERYONE


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer <token>`; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header and request.path in QUERY_TOKEN_PATHS and request.query.get("access_token"):
        return request.query["access_token"]
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
    try:
        if signer is None:
            raise Unauthorized("this server signs nobody in: it was built without a secret")
        caller = signer.verify(bearer_token(request))
    except Unauthorized as exc:
        refused(request, exc.status, exc.detail)
        raise
    if caller.role not in allowed:
        names = sorted(role.value for role in allowed)
        refused(request, Forbidden.status, "role not admitted", caller)
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


def refused(request: web.Request, status: int, why: str, caller: Principal | None = None) -> None:
    log.info(
        "request_refused",
        status=status,
        why=why,
        method=request.method,
        path=request.path[:200],
        client=request.remote,
        role=caller.role.value if caller else None,
        subject=caller.subject[:80] if caller else None,
    )


def principal(request: web.Request) -> Principal:
    """The signed-in caller of a route that admits roles (auth_middleware put it there)."""
    return request[PRINCIPAL]


def require_desk(request: web.Request, agent_id: str) -> None:
    """An agent's token acts on its own desk only; other roles the route admits act on any."""
    caller = principal(request)
    if caller.role is Role.AGENT and caller.subject != agent_id:
        refused(request, Forbidden.status, "another agent's desk", caller)
        raise Forbidden(
            f"agent {caller.subject!r} may act on its own desk only, not agent {agent_id[:80]!r}'s",
            role=caller.role.value,
        )
