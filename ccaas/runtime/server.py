"""`ccaas serve`: Redis (given or embedded), the HTTP API and the router until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import structlog
from aiohttp import web
from redis.asyncio import Redis

from ..store.client import connect
from ..store.context import StoreContext
from ..web.app import create_app
from .demo import load_demo
from .embedded_redis import EmbeddedRedis
from .settings import Settings, load_routing_config

log = structlog.get_logger("ccaas.serve")
SHUTDOWN_SECONDS = 5.0  # open HTTP requests get this long to finish


async def serve(settings: Settings, demo: bool = False, seeds_dir: Path = Path("seeds")) -> None:
    """Run until SIGINT or SIGTERM; the HTTP port opens only once everything is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = load_routing_config(settings.routing_file)
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        await embedded.start()
        redis_url = embedded.url
    runner: web.AppRunner | None = None
    try:
        app = create_app(
            redis_url,
            config,
            tenant=settings.tenant,
            run_router=settings.router,
            max_body_bytes=settings.max_body_bytes,
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        if demo:
            redis: Redis = connect(redis_url)
            try:
                await load_demo(StoreContext.create(redis, settings.tenant, config), seeds_dir)
            finally:
                await redis.aclose()
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
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        if embedded is not None:
            embedded.stop()
