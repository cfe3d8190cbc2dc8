"""The aiohttp application: routes, error middleware, and the Redis + router lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from redis.asyncio import Redis

from ..domain.clock import Clock
from ..domain.config import RoutingConfig
from ..router.service import Router
from ..store.client import connect
from ..store.context import StoreContext
from .handlers import routes
from .openapi import openapi_document
from .problems import problem_middleware
from .services import SERVICES, Services

log = structlog.get_logger("ccaas.web")
SHUTDOWN_GRACE_SECONDS = 5.0


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def create_app(
    redis_url: str,
    config: RoutingConfig,
    *,
    tenant: str = "default",
    run_router: bool = True,
    max_body_bytes: int = 64 * 1024,
    clock: Clock | None = None,
) -> web.Application:
    app = web.Application(middlewares=[problem_middleware], client_max_size=max_body_bytes)
    app.add_routes(routes)
    app.router.add_get("/v1/openapi.json", _openapi)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        redis: Redis = connect(redis_url)
        ctx = StoreContext.create(redis, tenant, config, clock)
        app[SERVICES] = Services.build(ctx)
        task = None
        if run_router:
            task = asyncio.create_task(Router(ctx).run(), name="router")
            log.info("router_started", tenant=tenant)
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
        await redis.aclose()

    app.cleanup_ctx.append(lifecycle)
    return app
