"""While Redis is not serving, every route that needs it answers 503 at once, not a hang."""

from __future__ import annotations

from aiohttp import web

from ..errors import Unavailable
from .openapi import operation_of
from .problems import Handler
from .services import SERVICES


@web.middleware
async def availability_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    described = operation_of(request.match_info.route)
    services = request.app.get(SERVICES)
    if described is not None and described.needs_redis and services is not None:
        health = services.ctx.health
        if not health.up:
            # the cause (with Redis's address) is in the log, not told to callers
            raise Unavailable(
                f"Redis is {health.state.value} (for {health.seconds_in_state():.1f} s); "
                "nothing was changed",
                redis=health.state.value,
            )
    return await handler(request)
