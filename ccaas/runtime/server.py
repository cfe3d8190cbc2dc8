"""`ccaas serve`: Redis (given or embedded), the HTTP API and the router until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import signal
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis
from structlog.contextvars import bound_contextvars

from ..channels.mqtt_bridge import BrokerAddress
from ..channels.service_url import shown
from ..domain.rules.compiled import CompiledRules
from ..domain.rules.schema import RoutingConfig
from ..errors import ConfigError
from ..sim.demo_centre import DemoCentre
from ..store.client import connect
from ..store.context import StoreContext
from ..store.rules_store import RulesStore, load_version
from ..web.runner import ProblemAppRunner
from ..web.services import LISTENERS, SERVICES
from .demo import load_demo, read_seeds
from .embedded_mqtt import EmbeddedBroker
from .embedded_redis import EmbeddedRedis, private_dir
from .engine import (
    ENGINE,
    EmailOptions,
    MessengerOptions,
    MqttOptions,
    TelegramOptions,
    WhatsAppOptions,
    create_app,
)
from .redis_watch import shown_url, wait_for_redis
from .retention import DAY_MS
from .rules_sync import load_rules_file
from .settings import Settings
from .signing_secret import signing_secret

log = structlog.get_logger("ccaas.serve")
# only to reach Redis before any rules are known; never routes
_PLACEHOLDER = RoutingConfig.model_validate({"queues": {"none": {"channels": ["chat"]}}})
SHUTDOWN_SECONDS = 3.0  # open HTTP requests get this long to finish
WATCHDOG_SECONDS = 9.0  # a stop never takes longer (inside the usual 10 s grace of a deploy)


async def _starting_rules(redis_url: str, settings: Settings) -> CompiledRules:
    """The rules file; if it is broken, the version in force in Redis (logged), else fail."""
    try:
        return load_rules_file(settings.routing_file)
    except ConfigError as exc:
        redis: Redis = connect(redis_url)
        try:
            ctx = StoreContext.create(redis, settings.tenant, _PLACEHOLDER)
            version = 0

            async def read_version() -> None:
                nonlocal version
                version = await RulesStore(ctx).active_version()

            await wait_for_redis(redis_url, read_version)
            if not version:
                raise
            log.error("rules_file_rejected", errors=exc.detail, running_version=version)
            return await load_version(ctx, version)
        finally:
            await redis.aclose()


async def serve(settings: Settings, demo: bool = False, seeds_dir: Path = Path("seeds")) -> None:
    """Run until SIGINT or SIGTERM; the HTTP port opens only once everything is ready (a
    replica started before its Redis waits for it, and a signal meanwhile just stops it)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    embedded: EmbeddedRedis | None = None
    broker: EmbeddedBroker | None = None
    runner: web.AppRunner | None = None
    try:
        redis_url = settings.redis_url
        if not redis_url:
            private_dir(settings.data_dir)
            embedded = EmbeddedRedis(settings.data_dir / "redis")
            await embedded.start()
            redis_url = embedded.url
        mqtt_url = _secret(settings.mqtt_url)
        BrokerAddress.parse(mqtt_url or "mqtt://127.0.0.1")  # a bad URL stops the start here
        if not mqtt_url:
            private_dir(settings.data_dir)
            broker = EmbeddedBroker(settings.data_dir / "mqtt", prefer=settings.mqtt_broker)
            await broker.start()
            mqtt_url = broker.url
        mqtt = MqttOptions(
            mqtt_url,
            settings.mqtt_client_id or f"ccaas-{settings.tenant}-{socket.gethostname()}",
            settings.mqtt_shared_group,
        )
        runner = await _until_stopped(_start(settings, redis_url, mqtt, demo, seeds_dir), stop)
        if runner is None:
            return
        log.info(
            "serving",
            http=f"http://{settings.http_host}:{settings.http_port}",
            redis=shown_url(redis_url),
            embedded_redis=embedded is not None,
            mqtt=shown(mqtt_url),
            embedded_mqtt=broker.kind if broker else None,
            smtp=runner.app[LISTENERS].get("smtp"),
            tenant=settings.tenant,
        )
        await stop.wait()
        log.info("stopping")
        # a stop that hangs must not block a deploy: dump every thread's stack and exit
        faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
        # routing stops before the port closes: no offer is made once callers are refused
        await runner.app[ENGINE].stop_duties()
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        if broker is not None:
            broker.stop()
        if embedded is not None:
            embedded.stop()
        faulthandler.cancel_dump_traceback_later()
        log.info("stopped")


async def _start(
    settings: Settings, redis_url: str, mqtt: MqttOptions, demo: bool, seeds_dir: Path
) -> web.AppRunner:
    """The engine started and the HTTP port open."""
    rules = await _starting_rules(redis_url, settings)
    app = create_app(
        redis_url,
        rules,
        signing_secret=signing_secret(settings),
        session_hours=settings.auth_session_hours,
        disconnect_grace_seconds=settings.agent_disconnect_grace_seconds,
        tenant=settings.tenant,
        run_router=settings.router,
        max_body_bytes=settings.max_body_bytes,
        intake_max_in_flight=settings.intake_max_in_flight,
        rules_file=settings.routing_file,
        events_max_len=settings.events_max_len,
        events_max_age_ms=int(settings.events_max_age_days * DAY_MS),
        mqtt=mqtt,
        public_url=settings.public_url,
        twilio_auth_token=_secret(settings.twilio_auth_token),
        whatsapp=WhatsAppOptions(
            _secret(settings.whatsapp_app_secret),
            _secret(settings.whatsapp_verify_token),
            settings.whatsapp_api_url,
            settings.whatsapp_phone_number_id,
            _secret(settings.whatsapp_access_token),
        ),
        messenger=MessengerOptions(
            _secret(settings.messenger_app_secret),
            _secret(settings.messenger_verify_token),
            settings.messenger_api_url,
            settings.messenger_page_id,
            _secret(settings.messenger_page_token),
        ),
        telegram=TelegramOptions(
            _secret(settings.telegram_secret_token),
            settings.telegram_api_url,
            _secret(settings.telegram_bot_token),
        ),
        chat_identity_secret=_secret(settings.chat_identity_secret),
        email=EmailOptions(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_max_bytes,
            _secret(settings.smtp_relay_url),
            settings.smtp_from,
        ),
    )
    runner = ProblemAppRunner(app, access_log=None)
    try:
        await runner.setup()
        if demo:
            seeds = read_seeds(seeds_dir)
            ctx = app[SERVICES].ctx
            with bound_contextvars(tenant=settings.tenant):
                await load_demo(ctx, seeds)
            centre = DemoCentre(ctx, seeds.agent_ids, seeds.contacts)
            app[ENGINE].start_duty("demo_simulator", centre.run)
        await web.TCPSite(
            runner, settings.http_host, settings.http_port, shutdown_timeout=SHUTDOWN_SECONDS
        ).start()
        _say_how_to_sign_in(settings, read_seeds(seeds_dir).console if demo else [])
    except BaseException:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        raise
    return runner


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _say_how_to_sign_in(settings: Settings, console_agents: list[dict[str, Any]]) -> None:
    """The console's address, with the demo's console agents and their passwords if any."""
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    url = f"http://{host}:{settings.http_port}/console"
    for agent in console_agents:
        if "password" in agent:
            log.info("console_sign_in", url=url, agent_id=agent["id"], password=agent["password"])
    if not console_agents:
        log.info(
            "console_sign_in",
            url=url,
            how="agents sign in with a password set by `ccaas agents password AGENT_ID`",
        )


async def _until_stopped(
    starting: Coroutine[Any, Any, web.AppRunner], stop: asyncio.Event
) -> web.AppRunner | None:
    """`starting`'s result, or None if a signal came first (the start is cancelled)."""
    start = asyncio.ensure_future(starting)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if start.done():
        return start.result()
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await start
    log.info("stopped_before_serving")
    return None
