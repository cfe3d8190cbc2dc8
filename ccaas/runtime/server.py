"""`ccaas serve`: Redis (given or embedded), the HTTP API and the router until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import signal
from pathlib import Path

import structlog
from aiohttp import web
from redis.asyncio import Redis

from ..domain.rules.compiled import CompiledRules
from ..domain.rules.schema import RoutingConfig
from ..errors import ConfigError
from ..store.client import connect
from ..store.context import StoreContext
from ..store.rules_store import RulesStore, load_version
from ..web.services import SERVICES
from .demo import load_demo
from .embedded_redis import EmbeddedRedis
from .engine import create_app
from .rules_sync import load_rules_file
from .settings import Settings

log = structlog.get_logger("ccaas.serve")
# only to reach Redis before any rules are known; never routes
_PLACEHOLDER = RoutingConfig.model_validate({"queues": {"none": {"channels": ["chat"]}}})
SHUTDOWN_SECONDS = 5.0  # open HTTP requests get this long to finish


async def _starting_rules(redis_url: str, settings: Settings) -> CompiledRules:
    """The rules file; if it is broken, the version in force in Redis (logged), else fail."""
    try:
        return load_rules_file(settings.routing_file)
    except ConfigError as exc:
        redis: Redis = connect(redis_url)
        try:
            ctx = StoreContext.create(redis, settings.tenant, _PLACEHOLDER)
            version = await RulesStore(ctx).active_version()
            if not version:
                raise
            log.error("rules_file_rejected", errors=exc.detail, running_version=version)
            return await load_version(ctx, version)
        finally:
            await redis.aclose()


async def serve(settings: Settings, demo: bool = False, seeds_dir: Path = Path("seeds")) -> None:
    """Run until SIGINT or SIGTERM; the HTTP port opens only once everything is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        await embedded.start()
        redis_url = embedded.url
    runner: web.AppRunner | None = None
    try:
        rules = await _starting_rules(redis_url, settings)
        app = create_app(
            redis_url,
            rules,
            tenant=settings.tenant,
            run_router=settings.router,
            max_body_bytes=settings.max_body_bytes,
            rules_file=settings.routing_file,
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        if demo:
            await load_demo(app[SERVICES].ctx, seeds_dir)
        await web.TCPSite(
            runner, settings.http_host, settings.http_port, shutdown_timeout=SHUTDOWN_SECONDS
        ).start()
        log.info(
            "serving",
            http=f"http://{settings.http_host}:{settings.http_port}",
            redis=redis_url,
            embedded_redis=embedded is not None,
            tenant=settings.tenant,
        )
        await stop.wait()
        log.info("stopping")
        # a stop that hangs must not block a deploy: dump every thread's stack and exit
        faulthandler.dump_traceback_later(SHUTDOWN_SECONDS * 4, exit=True)
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        if embedded is not None:
            embedded.stop()
        faulthandler.cancel_dump_traceback_later()
