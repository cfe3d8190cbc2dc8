"""The engine's life: connect to Redis (waiting for it), bootstrap the rules, run the
supervised duties (the router, the rules sync, the Redis watcher, the event trimmer and the
rewrite of Redis's files after erasures), stop them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from redis.asyncio import Redis
from structlog.contextvars import bound_contextvars

from ..channels.email_format import domain_of
from ..channels.email_in import listen
from ..channels.email_out import EmailRelay, Relay
from ..channels.messenger import Messenger
from ..channels.mqtt_bridge import BrokerAddress, MqttBridge
from ..channels.social_out import SocialSender
from ..channels.social_out import messenger as social_messenger
from ..channels.social_out import telegram as social_telegram
from ..channels.social_out import whatsapp as social_whatsapp
from ..channels.telegram import Telegram
from ..channels.voice_twilio import TwilioVoice
from ..channels.whatsapp import WhatsApp
from ..desk.sessions import SessionReaper
from ..domain import passwords
from ..domain.chat_tokens import ChatTokens
from ..domain.clock import Clock
from ..domain.rules.compiled import CompiledRules
from ..domain.rules.schema import RoutingConfig
from ..domain.tokens import TokenSigner
from ..router.callback_timer import CallbackTimer
from ..router.service import Router
from ..store.client import connect, is_outage
from ..store.context import StoreContext
from ..store.rules_store import refresh
from ..store.scripts import DEFAULT_EVENTS_MAX_LEN
from ..supervise import supervise
from ..web.agent_hub import AgentHub
from ..web.agent_socket import HUB
from ..web.app import build_app
from ..web.chat import CHAT_HUB, CHAT_SETTINGS, CHAT_TOKENS, ChatSettings
from ..web.chat_hub import ChatHub
from ..web.intake_window import DEFAULT_MAX_IN_FLIGHT
from ..web.services import LISTENERS, SERVICES, Listeners, Services
from .channel_routes import add_webhooks
from .erasure_rewrite import ErasureRewriter
from .redis_watch import RedisWatcher, claim_epoch, wait_for_redis
from .retention import DAY_MS, keep_trimming
from .rules_file import RulesFile
from .rules_sync import adopt, bootstrap, follow, set_up_again, watch_file

log = structlog.get_logger("ccaas.engine")
SHUTDOWN_GRACE_SECONDS = 3.0
CANCEL_AGAIN_SECONDS = 0.1
DEFAULT_EVENTS_MAX_AGE_MS = 7 * DAY_MS


class Engine:
    """One process's engine: a store context on Redis and its background duties."""

    def __init__(
        self,
        redis_url: str,
        rules: CompiledRules | RoutingConfig,
        *,
        tenant: str = "default",
        run_router: bool = True,
        clock: Clock | None = None,
        rules_file: Path | None = None,
        watch_rules_file: bool = True,
        events_max_len: int = DEFAULT_EVENTS_MAX_LEN,
        events_max_age_ms: int = DEFAULT_EVENTS_MAX_AGE_MS,
    ) -> None:
        self.redis_url, self.rules, self.tenant, self.clock = redis_url, rules, tenant, clock
        self.run_router = run_router
        self.rules_file, self.watch_rules_file = rules_file, watch_rules_file
        self.events_max_len, self.events_max_age_ms = events_max_len, events_max_age_ms
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Redis | None = None

    async def start(self) -> StoreContext:
        """Connect, put the rules in force, start the duties; the context to serve with.

        The duties' log events carry the tenant: the tasks inherit it from here.
        """
        with bound_contextvars(tenant=self.tenant):
            return await self._start_all()

    async def _start_all(self) -> StoreContext:
        redis: Redis = connect(self.redis_url)
        ctx = StoreContext.create(
            redis, self.tenant, self.rules, self.clock, events_max_len=self.events_max_len
        )
        ctx.holder.refresh = lambda: refresh(ctx)
        epoch = ""
        rules_file = None if self.rules_file is None else RulesFile(self.rules_file)

        async def set_up() -> None:
            nonlocal epoch
            await bootstrap(ctx, rules_file)
            epoch, _ = await claim_epoch(ctx)

        try:
            await wait_for_redis(self.redis_url, set_up)
        except BaseException:
            await redis.aclose()
            raise
        self._redis = redis
        watched = rules_file if self.watch_rules_file else None
        watcher = RedisWatcher(
            ctx, epoch, lambda: set_up_again(ctx, rules_file), lambda: adopt(ctx)
        )
        self._start("redis_watcher", watcher.run)
        self._start("rules_follower", lambda: follow(ctx, watched))
        self._start("erasure_rewriter", ErasureRewriter(ctx).run)
        max_age = self.events_max_age_ms
        self._start("events_trimmer", lambda: keep_trimming(ctx, max_age))
        if watched is not None:
            self._start("rules_watcher", lambda: watch_file(ctx, watched))
        if self.run_router:
            self._tasks.append(asyncio.create_task(Router(ctx).run(), name="router"))
            log.info("router_started", rules_version=ctx.rules.version)
        return ctx

    def _start(self, name: str, duty: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.create_task(supervise(name, duty, 0.5, is_outage), name=name)
        self._tasks.append(task)

    def start_duty(self, name: str, duty: Callable[[], Awaitable[object]]) -> None:
        """Run one more supervised duty (the demo simulator) until the engine stops."""
        with bound_contextvars(tenant=self.tenant):
            self._start(name, duty)

    @property
    def duties(self) -> tuple[asyncio.Task[None], ...]:
        """The background duties running now."""
        return tuple(self._tasks)

    async def stop(self) -> None:
        """Stop the duties, then close the connection."""
        await self.stop_duties()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def stop_duties(self) -> None:
        """Cancel the duties (routing stops here), giving them a grace period; the
        connection stays open for the requests still being answered."""
        loop = asyncio.get_running_loop()
        deadline, pending = loop.time() + SHUTDOWN_GRACE_SECONDS, set(self._tasks)
        while pending and loop.time() < deadline:
            for task in pending:
                task.cancel()  # again each time: a read in redis-py can swallow a cancellation
            _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_SECONDS)
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error(
                    "duty_stopped_with_error", duty=task.get_name(), exc_info=task.exception()
                )
        self._tasks = []


ENGINE = web.AppKey("engine", Engine)
BRIDGE = web.AppKey("mqtt_bridge", MqttBridge)


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """The broker the bridge uses, this replica's session there, and the group the
    replicas share inbound topics in ("": each replica reads every message)."""

    url: str
    client_id: str
    shared_group: str = ""


@dataclass(frozen=True, slots=True)
class WhatsAppOptions:
    """The Meta app's secret and verify token (webhooks), and what sending needs: the
    Cloud API's base URL, the business number's id and an access token ("": not sent)."""

    app_secret: str = ""
    verify_token: str = ""
    api_url: str = "https://graph.facebook.com/v21.0"
    phone_number_id: str = ""
    access_token: str = ""
    chat_gap_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class MessengerOptions:
    """The Meta app's secret and verify token (webhooks); for sending, the Send API's base
    URL, the page's id and a page access token ("": not sent)."""

    app_secret: str = ""
    verify_token: str = ""
    api_url: str = "https://graph.facebook.com/v21.0"
    page_id: str = ""
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class TelegramOptions:
    """The secret given to setWebhook (webhooks); for sending, the Bot API's base URL and
    the bot's token ("": not sent)."""

    secret_token: str = ""
    api_url: str = "https://api.telegram.org"
    bot_token: str = ""


@dataclass(frozen=True, slots=True)
class EmailOptions:
    """Where inbound email is taken (port 0: any free one), the largest taken, the relay
    agents' replies go out through ("": none, they wait) and the address they come from."""

    host: str = "127.0.0.1"
    port: int = 0
    max_bytes: int = 1024 * 1024
    relay_url: str = ""
    sender: str = "ccaas@localhost"


def create_app(
    redis_url: str,
    rules: CompiledRules | RoutingConfig,
    *,
    signing_secret: bytes,
    session_hours: float = 12.0,
    disconnect_grace_seconds: float = 60.0,
    tenant: str = "default",
    run_router: bool = True,
    max_body_bytes: int = 64 * 1024,
    intake_max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    clock: Clock | None = None,
    rules_file: Path | None = None,
    watch_rules_file: bool = True,
    events_max_len: int = DEFAULT_EVENTS_MAX_LEN,
    events_max_age_ms: int = DEFAULT_EVENTS_MAX_AGE_MS,
    mqtt: MqttOptions | None = None,
    public_url: str = "",
    twilio_auth_token: str = "",
    email: EmailOptions | None = None,
    whatsapp: WhatsAppOptions | None = None,
    messenger: MessengerOptions | None = None,
    telegram: TelegramOptions | None = None,
    chat_identity_secret: str = "",
    replica: str = "",
) -> web.Application:
    """The HTTP app on an engine that starts and stops with it. `rules` are used until
    Redis holds a rules version; with `rules_file`, that file is published at start (when
    changed) and, if `watch_rules_file`, on each save. The event stream keeps about
    `events_max_len` events, none older than `events_max_age_ms`. At most
    `intake_max_in_flight` new contacts are taken in at once; more are answered 429.
    Callers' tokens are checked with `signing_secret` (at least 32 bytes); an agent's
    sign-in lasts `session_hours`, and an agent whose console has been gone
    `disconnect_grace_seconds` goes offline. With `mqtt`, the MQTT bridge runs too. The
    native channels' webhooks are signed over `public_url` (voice: with
    `twilio_auth_token`); without them they answer 503. With `email`, inbound SMTP is
    taken and agents' replies relayed. `replica` names this process among the replicas
    (default: its host name)."""
    replica = replica or f"{tenant}-{socket.gethostname()}"
    signer = TokenSigner(signing_secret, tenant)
    app = build_app(max_body_bytes, intake_max_in_flight, signer, session_hours)
    app[CHAT_TOKENS] = ChatTokens(signing_secret)
    app[CHAT_SETTINGS] = ChatSettings(chat_identity_secret)
    voice = TwilioVoice(twilio_auth_token, public_url)
    whatsapp = whatsapp or WhatsAppOptions()
    messenger = messenger or MessengerOptions()
    telegram = telegram or TelegramOptions()
    natives = [
        voice,
        WhatsApp(whatsapp.app_secret, whatsapp.verify_token),
        Messenger(messenger.app_secret, messenger.verify_token),
        Telegram(telegram.secret_token),
    ]
    add_webhooks(app, [hook for channel in natives for hook in channel.webhooks()])
    providers = []
    if whatsapp.access_token and whatsapp.phone_number_id:
        providers.append(
            social_whatsapp(whatsapp.api_url, whatsapp.phone_number_id, whatsapp.access_token)
        )
    if messenger.page_token and messenger.page_id:
        providers.append(
            social_messenger(messenger.api_url, messenger.page_id, messenger.page_token)
        )
    if telegram.bot_token:
        providers.append(social_telegram(telegram.api_url, telegram.bot_token))
    engine = app[ENGINE] = Engine(
        redis_url,
        rules,
        tenant=tenant,
        run_router=run_router,
        clock=clock,
        rules_file=rules_file,
        watch_rules_file=watch_rules_file,
        events_max_len=events_max_len,
        events_max_age_ms=events_max_age_ms,
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        ctx = await engine.start()
        await asyncio.to_thread(passwords.warm)
        app[SERVICES] = Services.build(ctx)
        for channel in natives:
            channel.bind(ctx)
        for provider in providers:
            sender = SocialSender(ctx, provider, replica, whatsapp.chat_gap_seconds)
            await sender.prepare()
            engine.start_duty(f"{provider.route}_sender", sender.run)
        hub = app[HUB] = AgentHub(ctx, disconnect_grace_seconds)
        hub.start(engine.start_duty)
        chat = app[CHAT_HUB] = ChatHub(ctx)
        hub.listeners.append(chat.hear)
        chat.start(engine.start_duty)
        engine.start_duty("session_reaper", SessionReaper(ctx).run)
        engine.start_duty("callback_timer", CallbackTimer(ctx).run)
        app[LISTENERS] = Listeners()
        if mqtt is not None:
            address = BrokerAddress.parse(mqtt.url)
            bridge = MqttBridge(ctx, address, mqtt.client_id, mqtt.shared_group)
            engine.start_duty("mqtt_bridge", bridge.run)
            app[BRIDGE] = bridge
            app[LISTENERS]["mqtt"] = address.url
        smtp: asyncio.Server | None = None
        if email is not None:
            smtp = await listen(
                ctx, email.host, email.port, email.max_bytes, domain_of(email.sender)
            )
            port = smtp.sockets[0].getsockname()[1]
            app[LISTENERS]["smtp"] = f"{email.host}:{port}"
            log.info("smtp_listening", address=f"{email.host}:{port}")
            if email.relay_url:
                relay = EmailRelay(ctx, Relay.parse(email.relay_url), email.sender, replica)
                await relay.prepare()
                engine.start_duty("email_relay", relay.run)
        yield
        if smtp is not None:
            smtp.close()
            await smtp.wait_closed()
        await engine.stop()

    async def close_consoles(app: web.Application) -> None:
        if HUB in app:  # consoles are told to reconnect (to another replica) before the wait
            await app[HUB].close_all()
        if CHAT_HUB in app:
            await app[CHAT_HUB].close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_consoles)
    return app
