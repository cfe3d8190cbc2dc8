"""`ccaas serve`: Redis (given or embedded), the HTTP API and the router until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import structlog
from aiohttp import web

from ..web.app import create_app
from ..web.services import SERVICES
from .demo import load_demo
from .embedded_redis import EmbeddedRedis
from .routing_file import load_rules_file
from .settings import Settings

log = structlog.get_logger("ccaas.serve")
SHUTDOWN_SECONDS = 5.0  # open HTTP requests get this long to finish


async def serve(settings: Settings, demo: bool = False, seeds_dir: Path = Path("seeds")) -> None:
    """Run until SIGINT or SIGTERM; the HTTP port opens only once everything is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    rules = load_rules_file(settings.routing_file)  # fails fast, with line numbers
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
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        if embedded is not None:
            embedded.stop()
