"""Each request's log context: the tenant, a request id and the ids its path names.

The middleware binds them with structlog contextvars for the whole request, so every event
logged while it runs (the problem middleware's request_failed among them) carries them, and
echoes the request id in the X-Request-Id response header for the caller to quote.
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web
from structlog.contextvars import bound_contextvars

from .problems import Handler
from .services import SERVICES

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# the routes under each prefix name one entity by their {id}, bound under this key
_PATH_IDS = (
    ("/v1/contacts/{id}", "contact_id"),
    ("/v1/agents/{id}", "agent_id"),
    ("/v1/offers/{id}", "offer_id"),
    ("/v1/customers/{id}", "customer_id"),
)
MAX_LOGGED_ID = 128  # an id is the caller's text: a long one is cut, not logged whole


def request_id(request: web.Request) -> str:
    """The caller's X-Request-Id if it is 1..64 of [A-Za-z0-9._-], else a new random one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)


def path_ids(request: web.Request) -> dict[str, str]:
    """contact_id, agent_id, offer_id or customer_id from the matched route's path."""
    resource = request.match_info.route.resource
    if resource is None:  # no route matched
        return {}
    path = resource.canonical
    for prefix, key in _PATH_IDS:
        if path == prefix or path.startswith(prefix + "/"):
            return {key: request.match_info["id"][:MAX_LOGGED_ID]}
    return {}


@web.middleware
async def log_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request_id(request)
    bound = {"request_id": rid, **path_ids(request)}
    if (services := request.app.get(SERVICES)) is not None:
        bound["tenant"] = services.ctx.keys.tenant
    with bound_contextvars(**bound):
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # a redirect, which the problem middleware lets by
            exc.headers[REQUEST_ID_HEADER] = rid
            raise
    if not response.prepared:  # a websocket or stream sent its headers already
        response.headers[REQUEST_ID_HEADER] = rid
    return response
