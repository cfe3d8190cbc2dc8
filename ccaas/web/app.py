"""The aiohttp application: routes, error middleware, and the Redis + router lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from aiohttp import web
from redis.asyncio import Redis

from ..domain.clock import Clock
from ..domain.config import RoutingConfig
from ..domain.rules import CompiledRules
from ..router.service import Router
from ..runtime.rules_sync import bootstrap, follow, refresh, watch_file
from ..store.client import connect
from ..store.context import StoreContext
from ..supervise import supervise
from .admin import admin_routes
from .customers import customer_routes
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
    rules: CompiledRules | RoutingConfig,
    *,
    tenant: str = "default",
    run_router: bool = True,
    max_body_bytes: int = 64 * 1024,
    clock: Clock | None = None,
    rules_file: Path | None = None,
    watch_rules_file: bool = True,
) -> web.Application:
    """The API app. `rules` are used until Redis holds a rules version; with `rules_file`,
    that file is published at start (when changed) and, if `watch_rules_file`, on each save."""
    app = web.Application(middlewares=[problem_middleware], client_max_size=max_body_bytes)
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.add_routes(customer_routes)
    app.router.add_get("/v1/openapi.json", _openapi)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        redis: Redis = connect(redis_url)
        ctx = StoreContext.create(redis, tenant, rules, clock)
        ctx.holder.refresh = lambda: refresh(ctx)
        try:
            await bootstrap(ctx, rules_file)
        except BaseException:
            await redis.aclose()
            raise
        app[SERVICES] = Services.build(ctx)
        tasks = [
            asyncio.create_task(
                supervise("rules_follower", lambda: follow(ctx), 1.0, tenant=tenant)
            )
        ]
        if rules_file is not None and watch_rules_file:
            watched = rules_file
            tasks.append(
                asyncio.create_task(
                    supervise("rules_watcher", lambda: watch_file(ctx, watched), 1.0, tenant=tenant)
                )
            )
        if run_router:
            tasks.append(asyncio.create_task(Router(ctx).run(), name="router"))
            log.info("router_started", tenant=tenant, rules_version=ctx.rules.version)
        yield
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), SHUTDOWN_GRACE_SECONDS
            )
        await redis.aclose()

    app.cleanup_ctx.append(lifecycle)
    return app
