"""`ccaas bench routing`: routing and lifecycle throughput, offer latency, and Redis's ceiling.

The router runs in its own process (as in production); this process is the load: it enqueues
contacts and, for the lifecycle phase, plays the agents who accept and complete offers. Times
come from the `ts` of each transition in the event stream (microseconds, Redis's clock).
With no CCAAS_REDIS_URL it runs a private redis-server in a temporary folder, removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from ..desk.service import Desk
from ..domain.intake import NewContact
from ..domain.models import Channel, Presence
from ..domain.rules.schema import RoutingConfig
from ..errors import InvalidInput
from ..ingest.service import Ingest
from ..router.service import Router
from ..runtime import event_loop
from ..runtime.embedded_redis import EmbeddedRedis
from ..runtime.logging import configure_logging
from ..runtime.settings import Settings
from ..store.agents import AgentProfile, AgentRepository
from ..store.client import connect
from ..store.contacts import ContactRepository
from ..store.context import StoreContext

BATCH = 500
MAX_CAPACITY = 100  # the most contacts of one channel an agent may hold (config limit)
QUEUE = "bench"
OVERLOAD_SECONDS = 5.0  # how long arrivals run above the maximum in an overload run


def bench_config(capacity: int) -> RoutingConfig:
    return RoutingConfig.model_validate(
        {
            "channels": {"chat": {"capacity": capacity}},
            "queues": {QUEUE: {"channels": ["chat"], "offer_timeout_seconds": 600}},
        }
    )


class Progress:
    """A one-line progress bar on stderr (none with --json)."""

    enabled = True

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.last = label, total, -1.0

    def show(self, done: int) -> None:
        if not self.enabled:
            return
        fraction = min(done / self.total, 1.0) if self.total else 1.0
        if fraction - self.last < 0.02 and fraction < 1.0:
            return
        self.last = fraction
        bar = "#" * int(fraction * 30)
        sys.stderr.write(f"\r{self.label:<28} [{bar:<30}] {done}/{self.total}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _router_process(redis_url: str, tenant: str, config_json: str) -> None:
    configure_logging("json", "WARNING")

    async def run() -> None:
        redis: Redis = connect(redis_url)
        ctx = StoreContext.create(redis, tenant, RoutingConfig.model_validate_json(config_json))
        await Router(ctx).run()

    event_loop.run(run())


@dataclass
class Phase:
    ctx: StoreContext
    name: str

    @property
    def redis(self) -> Redis:
        return self.ctx.redis


async def _setup_agents(ctx: StoreContext, agents: int, available: bool = True) -> None:
    repo = AgentRepository(ctx)
    for i in range(agents):
        agent_id = f"agent{i:05d}"
        await repo.upsert(agent_id, AgentProfile(agent_id, {"chat": 5}, [QUEUE]))
    if available:
        await _log_in(ctx, agents)


async def _log_in(ctx: StoreContext, agents: int) -> None:
    """Every agent becomes available, 100 at a time."""
    desk = Desk(ctx)
    for start in range(0, agents, 100):
        await asyncio.gather(
            *(
                desk.set_presence(f"agent{i:05d}", Presence.AVAILABLE)
                for i in range(start, min(agents, start + 100))
            )
        )


async def _enqueue_batch(contacts: Ingest, prefix: str, start: int, count: int) -> None:
    await contacts.enqueue_many(
        [
            NewContact(Channel.CHAT, f"{prefix}-{i}", QUEUE, {"chat": 3})
            for i in range(start, start + count)
        ]
    )


async def _events(redis: Redis, stream: str, last_id: str) -> tuple[str, list[dict[str, str]]]:
    reply = await redis.xread({stream: last_id}, count=5000, block=200)
    if not reply:
        return last_id, []
    entries = reply[0][1]
    return entries[-1][0], [fields for _, fields in entries]


async def _wait_for(
    ctx: StoreContext, kind: str, total: int, progress: Progress, on_event: Callable[..., Any]
) -> dict[str, int]:
    """Follow the event stream until `total` events of `kind`; returns contact -> ts (µs)."""
    seen: dict[str, int] = {}
    last = "0-0"
    deadline = time.monotonic() + 600
    while len(seen) < total and time.monotonic() < deadline:
        last, batch = await _events(ctx.redis, ctx.keys.events, last)
        for fields in batch:
            if fields["type"] == kind:
                seen[fields["contact"]] = int(fields["ts"])
            await on_event(fields)
        progress.show(len(seen))
    return seen


async def _wait_offered(
    ctx: StoreContext, total: int, progress: Progress, patience: float = 600
) -> None:
    """Poll the ringing-offer count (offers here never ring out): cheap for the router's CPU.
    Gives up after `patience` seconds without a new offer (so a lost contact ends the wait)."""
    deadline = time.monotonic() + 600
    offered, stalled_since = 0, time.monotonic()
    while offered < total and time.monotonic() < deadline:
        now_offered = await ctx.redis.zcard(ctx.keys.offer_deadlines)
        if now_offered != offered:
            offered, stalled_since = now_offered, time.monotonic()
        elif time.monotonic() - stalled_since > patience:
            return
        progress.show(offered)
        await asyncio.sleep(0.02)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


async def _subscribed(ctx: StoreContext, patience: float = 60.0) -> None:
    """Wait until the router listens for wake-ups, and for its first round (reading
    everything) to end: a busy machine can take seconds to start a process."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        listeners = dict(await ctx.redis.pubsub_numsub(ctx.keys.wake_channel))
        if listeners.get(ctx.keys.wake_channel, 0) >= 1:
            await asyncio.sleep(0.3)
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the bench's router did not start listening within a minute")


@contextlib.asynccontextmanager
async def _router_running(redis_url: str, ctx: StoreContext) -> AsyncIterator[None]:
    """A router in its own process, as in production, for the length of a phase."""
    process = multiprocessing.get_context("spawn").Process(
        target=_router_process,
        args=(redis_url, ctx.keys.tenant, ctx.config.model_dump_json()),
        daemon=True,
    )
    process.start()
    try:
        await _subscribed(ctx)
        yield
    finally:
        process.terminate()
        process.join()


async def _load_all(repo: Ingest, prefix: str, contacts: int) -> None:
    for start in range(0, contacts, BATCH):
        await _enqueue_batch(repo, prefix, start, min(BATCH, contacts - start))


async def _per_second(ctx: StoreContext, first_kind: str, last_kind: str) -> float:
    """Contacts that reached `last_kind` per second, from the first `first_kind` event."""
    first = await _stream_times(ctx, first_kind)
    last = await _stream_times(ctx, last_kind)
    await drop_tenant(ctx)
    span = (max(last.values()) - min(first.values())) / 1_000_000
    return len(last) / span if span > 0 else 0.0


async def _stream_entries(ctx: StoreContext) -> AsyncIterator[dict[str, str]]:
    """The fields of every event in the tenant's stream, oldest first."""
    last = "0-0"
    while True:
        reply = await ctx.redis.xrange(
            ctx.keys.events, f"({last}" if last != "0-0" else "-", count=10000
        )
        if not reply:
            return
        for entry_id, fields in reply:
            yield fields
            last = entry_id


async def _stream_times(ctx: StoreContext, kind: str) -> dict[str, int]:
    """Contact -> `ts` (µs) of its first event of `kind`."""
    times: dict[str, int] = {}
    async for fields in _stream_entries(ctx):
        if fields["type"] == kind:
            times.setdefault(fields["contact"], int(fields["ts"]))
    return times


async def fresh_ctx(redis: Redis, config: RoutingConfig) -> StoreContext:
    return StoreContext.create(redis, "bench-" + secrets.token_hex(4), config)


async def drop_tenant(ctx: StoreContext) -> None:
    async for key in ctx.redis.scan_iter(match=f"{ctx.keys.prefix}*", count=1000):
        await ctx.redis.unlink(key)


async def routing_phase(redis: Redis, url: str, agents: int, contacts: int) -> float:
    """(a) the router's own pace: `contacts` wait (enqueued as fast as this process can)
    when the agents log in; offers per second from the first log-in to the last offer."""
    ctx = await fresh_ctx(redis, bench_config(capacity=contacts // agents + 2))
    await _setup_agents(ctx, agents, available=False)
    async with _router_running(url, ctx):
        await _load_all(Ingest(ctx), "r", contacts)
        await asyncio.sleep(0.5)  # the router has read the backlog meanwhile
        seconds, micros = await redis.time()
        start_us = seconds * 1_000_000 + micros
        await _log_in(ctx, agents)
        await _wait_offered(ctx, contacts, Progress("routing (backlog→offer)", contacts))
    offered = await _stream_times(ctx, "contact_offered")
    await drop_tenant(ctx)
    span = (max(offered.values()) - start_us) / 1_000_000
    return len(offered) / span if span > 0 else 0.0


async def lifecycle_phase(redis: Redis, url: str, agents: int, contacts: int) -> float:
    """(b) enqueue, offer, accept, complete: completed contacts per second."""
    ctx = await fresh_ctx(redis, bench_config(capacity=3))
    await _setup_agents(ctx, agents)
    repo, desk = ContactRepository(ctx), Desk(ctx)
    pending: set[asyncio.Task[Any]] = set()
    agents_at_once = asyncio.Semaphore(64)  # like 64 agents' consoles answering together

    async def play_agent(offer_id: str, contact_id: str, agent_id: str) -> None:
        async with agents_at_once:
            await desk.accept(offer_id, agent_id)
            await repo.complete(contact_id, agent_id, "resolved")

    async def on_event(fields: dict[str, str]) -> None:
        if fields["type"] == "contact_offered":
            task = asyncio.create_task(
                play_agent(fields["offer"], fields["contact"], fields["agent"])
            )
            pending.add(task)
            task.add_done_callback(pending.discard)

    async with _router_running(url, ctx):
        loader = asyncio.create_task(_load_all(Ingest(ctx), "l", contacts))
        progress = Progress("lifecycle (…→complete)", contacts)
        await _wait_for(ctx, "contact_completed", contacts, progress, on_event)
        await loader
    return await _per_second(ctx, "contact_queued", "contact_completed")


async def latency_phase(
    redis: Redis, url: str, agents: int, rate: float, seconds: float
) -> tuple[float, float, int]:
    """(c) paced arrivals at `rate` per second: enqueue→offer p50 and p99 in ms (to the µs)."""
    total = min(int(rate * seconds), agents * (MAX_CAPACITY - 2))
    ctx = await fresh_ctx(redis, bench_config(capacity=total // agents + 2))
    await _setup_agents(ctx, agents)
    async with _router_running(url, ctx):
        loader = asyncio.create_task(_paced_load(Ingest(ctx), "p", total, rate))
        await _wait_offered(ctx, total, Progress(f"latency at {rate:.0f}/s", total))
        await loader
    queued = await _stream_times(ctx, "contact_queued")
    offered = await _stream_times(ctx, "contact_offered")
    await drop_tenant(ctx)
    waits = [(offered[c] - queued[c]) / 1000 for c in offered if c in queued]
    return _percentile(waits, 50), _percentile(waits, 99), len(waits)


async def _paced_load(repo: Ingest, prefix: str, total: int, rate: float) -> None:
    """Enqueue `total` contacts at `rate` per second, in small batches every 5 ms."""
    tick = 0.005
    sent, start = 0, time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        if due > sent:
            await _enqueue_batch(repo, prefix, sent, min(BATCH, due - sent))
            sent += min(BATCH, due - sent)
        await asyncio.sleep(tick)


@dataclass(frozen=True)
class Overload:
    """What an overload run saw: routed/s while arrivals ran, contacts lost, drain time."""

    arrival_per_s: float
    routed_per_s: float
    lost: int
    drain_seconds: float


async def overload_phase(
    redis: Redis, url: str, agents: int, rate: float, seconds: float
) -> Overload:
    """(e) arrivals at `rate` (above the router's maximum) for `seconds`, then the drain."""
    total = max(1, min(int(rate * seconds), agents * (MAX_CAPACITY - 2)))
    ctx = await fresh_ctx(redis, bench_config(capacity=total // agents + 2))
    await _setup_agents(ctx, agents)
    async with _router_running(url, ctx):
        loader = asyncio.create_task(_paced_load(Ingest(ctx), "o", total, rate))
        await _wait_offered(ctx, total, Progress(f"overload at {rate:.0f}/s", total), 10.0)
        await loader
    queued: list[int] = []
    offers: dict[str, list[int]] = {}
    async for fields in _stream_entries(ctx):
        if fields["type"] == "contact_queued":
            queued.append(int(fields["ts"]))
        elif fields["type"] == "contact_offered":
            offers.setdefault(fields["contact"], []).append(int(fields["ts"]))
    await drop_tenant(ctx)
    return _overload_figures(total, queued, offers)


def _overload_figures(total: int, queued: list[int], offers: dict[str, list[int]]) -> Overload:
    """Arrivals run from the first to the last `contact_queued`; the backlog is empty at the
    last offer. Lost: contacts published but not offered exactly once."""
    first, end = min(queued), max(queued)
    arrivals_s = (end - first) / 1_000_000
    offer_times = [ts for times in offers.values() for ts in times]
    during = sum(1 for ts in offer_times if ts <= end)
    last_offer = max(offer_times, default=end)
    return Overload(
        arrival_per_s=len(queued) / arrivals_s if arrivals_s > 0 else 0.0,
        routed_per_s=during / arrivals_s if arrivals_s > 0 else 0.0,
        lost=total - sum(1 for times in offers.values() if len(times) == 1),
        drain_seconds=max(0.0, (last_offer - end) / 1_000_000),
    )


async def redis_ceiling(redis: Redis, seconds: float = 2.0) -> float:
    """(d) EVALSHA of a trivial script, pipelined as claims are: calls per second."""
    script = redis.register_script("return 1")
    await script()
    calls, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(BATCH):
                await script(client=pipe)
            await pipe.execute()
        calls += BATCH
    return calls / (time.monotonic() - start)


@contextlib.asynccontextmanager
async def bench_redis(settings: Settings) -> AsyncIterator[str]:
    """The URL of CCAAS_REDIS_URL, else of a private redis-server in a temporary folder that
    is stopped and removed on exit, also on an error or Ctrl-C."""
    if settings.redis_url:
        yield settings.redis_url
        return
    with contextlib.ExitStack() as folder:
        data_dir = folder.enter_context(tempfile.TemporaryDirectory(prefix="ccaas-bench-"))
        embedded = EmbeddedRedis(Path(data_dir), appendonly=False)
        folder.callback(embedded.stop)  # before the folder is removed
        await embedded.start()
        yield embedded.url


async def run_routing_bench(
    settings: Settings,
    agents: int,
    contacts: int,
    as_json: bool,
    rate: float | None = None,
    overload: float | None = None,
) -> int:
    """Run the four phases (the latency one at `rate` if given, then an overload run at
    `overload` x the routed rate if given); print one JSON object or a summary on stdout."""
    if agents < 1 or contacts < 1 or contacts > agents * (MAX_CAPACITY - 2):
        raise InvalidInput(
            f"need 1 <= contacts <= agents x {MAX_CAPACITY - 2} so that every contact can be "
            f"offered at once; got {agents} agents, {contacts} contacts",
            field="contacts",
        )
    if rate is not None and rate <= 0:
        raise InvalidInput(f"--rate must be above 0; got {rate}", field="rate")
    if overload is not None and overload <= 0:
        raise InvalidInput(f"--overload must be above 0; got {overload}", field="overload")
    async with bench_redis(settings) as url:
        result = await _measure(url, agents, contacts, not as_json, rate, overload)
    if as_json:
        print(json.dumps(result))
    else:
        print(_summary(result))
    return 0


async def _measure(
    url: str,
    agents: int,
    contacts: int,
    progress: bool,
    rate: float | None,
    overload: float | None,
) -> dict[str, Any]:
    Progress.enabled = progress
    redis: Redis = connect(url)
    extra: dict[str, Any] = {}
    try:
        routed = await routing_phase(redis, url, agents, contacts)
        lifecycle = await lifecycle_phase(redis, url, agents, contacts)
        latency_rate = rate if rate is not None else routed / 2
        p50, p99, samples = await latency_phase(redis, url, agents, latency_rate, seconds=5.0)
        ceiling = await redis_ceiling(redis)
        if rate is not None:
            extra["rate_per_s"] = float(rate)
        if overload is not None:
            seen = await overload_phase(
                redis, url, agents, overload * routed, seconds=OVERLOAD_SECONDS
            )
            extra |= {
                "overload_factor": float(overload),
                "max_routed_per_s": round(routed, 1),
                "overload_arrival_per_s": round(seen.arrival_per_s, 1),
                "overload_routed_per_s": round(seen.routed_per_s, 1),
                "lost": seen.lost,
                "drain_seconds": round(seen.drain_seconds, 6),
            }
    finally:
        await redis.aclose()
    return {
        "routed_per_s": round(routed, 1),
        "lifecycle_per_s": round(lifecycle, 1),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "latency_rate_per_s": round(latency_rate, 1),
        "latency_samples": samples,
        "redis_ceiling_per_s": round(ceiling, 1),
        "agents": agents,
        "contacts": contacts,
    } | extra


def _summary(result: dict[str, Any]) -> str:
    return (
        f"{result['agents']} agents, {result['contacts']} contacts\n"
        f"  routed (enqueue→offer)    {result['routed_per_s']:>12,.0f} contacts/s\n"
        f"  lifecycle (…→complete)    {result['lifecycle_per_s']:>12,.0f} contacts/s\n"
        f"  offer latency at {result['latency_rate_per_s']:,.0f}/s   "
        f"p50 {result['p50_ms']:.3f} ms  p99 {result['p99_ms']:.3f} ms"
        f"  ({result['latency_samples']} samples)\n"
        f"  Redis EVALSHA ceiling     {result['redis_ceiling_per_s']:>12,.0f} calls/s"
        + _overload_summary(result)
    )


def _overload_summary(result: dict[str, Any]) -> str:
    if "lost" not in result:
        return ""
    return (
        f"\n  overload x{result['overload_factor']:g} "
        f"({result['overload_arrival_per_s']:,.0f} arrivals/s)  "
        f"routed {result['overload_routed_per_s']:,.0f}/s of max "
        f"{result['max_routed_per_s']:,.0f}/s, lost {result['lost']}, "
        f"drained in {result['drain_seconds']:.3f} s"
    )
