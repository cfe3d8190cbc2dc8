"""While Redis is not serving, every route that needs it answers 503 at once, not a hang."""

from __future__ import annotations

from aiohttp import web

from ..errors import Unavailable
from .problems import PROBLEM_TYPES_PATH, Handler
from .services import SERVICES

# routes that answer from this process alone; /healthz says what is wrong itself
_WITHOUT_REDIS = frozenset({"/healthz", "/v1/openapi.json", PROBLEM_TYPES_PATH + "{kind}"})


@web.middleware
async def availability_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    services = request.app.get(SERVICES)
    if resource is not None and services is not None and resource.canonical not in _WITHOUT_REDIS:
        health = services.ctx.health
        if not health.up:
            raise Unavailable(
                f"Redis is {health.state.value} (for {health.seconds_in_state():.1f} s): "
                f"{health.detail.rstrip('.')}; nothing was changed",
                redis=health.state.value,
            )
    return await handler(request)
