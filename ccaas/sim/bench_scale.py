"""`ccaas bench scale`: the cost of one routing round, and Redis per waiting contact, by size.

Each scenario is a large centre's afternoon at some size: most agents at their chat
capacity, and 30 % of the waiting contacts needing a skill that 1 % of the agents hold.
Round time is one `plan_round` on the state a router keeps between rounds, built once from
the scenario's snapshot (the pure policy, no I/O), repeated; its cost per decision is the
median round time per offer made. Redis bytes per
waiting contact is the growth of `used_memory` (INFO memory) while a sample of contacts of
the same mix is enqueued through the real store code, divided by the sample's size.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ..domain.backlog import Backlog
from ..domain.intake import NewContact
from ..domain.models import AgentView, Channel, Presence, WaitingContact
from ..domain.ordering import order_score
from ..domain.policy import PlanStats, plan_round
from ..domain.pools import Pools
from ..domain.rules.schema import RoutingConfig
from ..errors import InvalidInput
from ..ingest.service import Ingest
from ..runtime.settings import Settings
from ..store.client import connect
from .bench_routing import BATCH, QUEUE, bench_config, bench_redis, drop_tenant, fresh_ctx

CAPACITY = 3  # chats an agent may hold
RARE_SKILL = "es"
RARE_AGENTS = 100  # one agent in this many holds the rare skill
RARE_CONTACTS = (3, 10)  # this fraction of the waiting contacts needs it
ROOM_EVERY = 10  # one agent in this many (not holding the skill) has room for a chat
NOW_MS = 1_700_000_000_000
DEFAULT_SIZES = ((1_000, 100), (10_000, 1_000), (100_000, 10_000))  # (waiting, agents)


@dataclass(frozen=True, slots=True)
class Snapshot:
    contacts: list[WaitingContact]
    agents: dict[str, AgentView]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """Sizes as (waiting, agents) from "1000x100,10000x1000"."""
    sizes = []
    for part in text.split(","):
        waiting, _, agents = part.strip().partition("x")
        if not (waiting.isdigit() and agents.isdigit() and int(waiting) and int(agents)):
            raise InvalidInput(
                f"size {part.strip()!r} is not WAITINGxAGENTS with both above 0", field="sizes"
            )
        sizes.append((int(waiting), int(agents)))
    return sizes


def needs_rare_skill(n: int) -> bool:
    """Whether the n-th contact needs the rare skill: 3 in every 10, spread out."""
    share, of = RARE_CONTACTS
    return n % of < share


def scenario_agents(count: int) -> dict[str, AgentView]:
    """`count` agents: 1 % hold the rare skill (half of them with room), of the others one
    in ten has room for one more chat and the rest are at capacity."""
    agents = {}
    for n in range(count):
        rare = n % RARE_AGENTS == 0
        room = (n // RARE_AGENTS) % 2 == 0 if rare else n % ROOM_EVERY == ROOM_EVERY // 2
        skills = {"en": 5, RARE_SKILL: 5} if rare else {"en": 5}
        agent_id = f"agent{n:06d}"
        agents[agent_id] = AgentView(
            id=agent_id,
            skills=skills,
            queues=frozenset([QUEUE]),
            capacity={Channel.CHAT.value: CAPACITY},
            presence=Presence.AVAILABLE,
            idle_since_ms=NOW_MS - (n % 600) * 1000,
            work={Channel.CHAT.value: CAPACITY - 1 if room else CAPACITY},
        )
    return agents


def scenario_contacts(count: int, aging_seconds: float) -> list[WaitingContact]:
    """`count` waiting contacts, one arriving every 10 ms, 30 % needing the rare skill."""
    contacts = []
    for n in range(count):
        first = NOW_MS - (count - n) * 10
        contacts.append(
            WaitingContact(
                id=f"c{n:07d}",
                queue=QUEUE,
                channel=Channel.CHAT,
                skills={RARE_SKILL: 1} if needs_rare_skill(n) else {},
                priority=0,
                first_enqueued_ms=first,
                score=order_score(0, first, aging_seconds),
                queue_since_ms=first,
            )
        )
    return contacts


def time_rounds(
    snapshot: Snapshot, config: RoutingConfig, rounds: int
) -> tuple[list[float], PlanStats, float]:
    """Milliseconds of each of `rounds` planning rounds on the state a router keeps between
    rounds (its backlog and pools, built once from the snapshot), one round's stats, and the
    milliseconds of building that state. After each round its offers are undone, as a
    router undoes refused ones, so every round plans the same afternoon."""
    queues, rules = config.queue_specs(), config.channel_rules()
    start = time.perf_counter()
    backlog, pools = Backlog(), Pools(queues, rules, snapshot.agents.values())
    for contact in snapshot.contacts:
        backlog.put(contact)
    for group in backlog.groups.values():
        head = group.head()
        if head is not None:
            pools.ranked_for(head)  # a router lists a group's agents once, then keeps them
    build_ms = (time.perf_counter() - start) * 1000
    gc.freeze()  # as the router does after loading its snapshot: full collections skip it
    by_id = {c.id: c for c in snapshot.contacts}
    times: list[float] = []
    stats = PlanStats()
    for _ in range(rounds):
        stats = PlanStats()
        start = time.perf_counter()
        planned = plan_round(backlog, pools, NOW_MS, stats)
        times.append((time.perf_counter() - start) * 1000)
        pools.begin_round(PlanStats())  # the undoing below is not the round's cost
        for offer in planned:
            backlog.put(by_id[offer.contact_id])
            pools.put_agent(snapshot.agents[offer.agent_id])
    return times, stats, build_ms


async def _used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def redis_bytes_per_waiting(redis: Redis, config: RoutingConfig, sample: int) -> float:
    """Growth of used_memory per contact while `sample` contacts of the mix are enqueued."""
    ctx = await fresh_ctx(redis, config)
    ingest = Ingest(ctx)
    try:
        # the tenant's queue, index and stream keys exist before the baseline is taken
        await ingest.enqueue_many(_new_contacts("warm", 0, 10))
        before = await _used_memory(redis)
        for start in range(0, sample, BATCH):
            await ingest.enqueue_many(_new_contacts("s", start, min(BATCH, sample - start)))
        return (await _used_memory(redis) - before) / sample
    finally:
        await drop_tenant(ctx)


def _new_contacts(prefix: str, start: int, count: int) -> list[NewContact]:
    return [
        NewContact(
            Channel.CHAT, f"{prefix}-{n}", QUEUE, {RARE_SKILL: 1} if needs_rare_skill(n) else {}
        )
        for n in range(start, start + count)
    ]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _name(waiting: int, agents: int) -> str:
    def short(n: int) -> str:
        return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)

    return f"{short(waiting)} x {short(agents)}"


async def measure(
    url: str, sizes: list[tuple[int, int]], rounds: int, sample: int
) -> dict[str, Any]:
    """Every scenario's figures and the growth of the cost per decision across them."""
    config = bench_config(CAPACITY)
    redis: Redis = connect(url)
    scenarios: list[dict[str, Any]] = []
    costs: list[float] = []  # ms per offer, by scenario
    try:
        for waiting, agent_count in sizes:
            snapshot = Snapshot(
                scenario_contacts(waiting, config.aging_seconds_per_priority),
                scenario_agents(agent_count),
            )
            times, stats, build_ms = time_rounds(snapshot, config, rounds)
            p50 = _percentile(times, 50)
            offers = max(stats.offers, 1)
            costs.append(p50 / offers)
            scenarios.append(
                {
                    "name": _name(waiting, agent_count),
                    "agents": agent_count,
                    "waiting": waiting,
                    "round_p50_ms": round(p50, 3),
                    "round_p99_ms": round(_percentile(times, 99), 3),
                    "state_build_ms": round(build_ms, 3),
                    "checks_per_offer": round(stats.checks / offers, 3),
                    "offers_per_s": round(stats.offers / (p50 / 1000), 1) if p50 else 0.0,
                    "redis_bytes_per_waiting": round(
                        await redis_bytes_per_waiting(redis, config, sample), 1
                    ),
                }
            )
    finally:
        await redis.aclose()
    largest = max(range(len(sizes)), key=lambda i: sizes[i])
    smallest = min(range(len(sizes)), key=lambda i: sizes[i])
    growth = costs[largest] / costs[smallest] if costs[smallest] else 0.0
    return {"scenarios": scenarios, "cost_growth": round(growth, 3)}


async def run_scale_bench(
    settings: Settings, sizes: list[tuple[int, int]], rounds: int, sample: int, as_json: bool
) -> int:
    """Measure every size; print one JSON object (`as_json`) or a table on stdout."""
    if rounds < 1:
        raise InvalidInput(f"rounds must be at least 1; got {rounds}", field="rounds")
    if sample < 1:
        raise InvalidInput(f"sample must be at least 1; got {sample}", field="sample")
    async with bench_redis(settings) as url:
        result = await measure(url, sizes, rounds, sample)
    print(json.dumps(result) if as_json else _summary(result))
    return 0


def _summary(result: dict[str, Any]) -> str:
    lines = [
        f"{'scenario':<14}{'round p50':>12}{'round p99':>12}{'checks/offer':>14}"
        f"{'offers/s':>12}{'Redis B/contact':>17}"
    ]
    for s in result["scenarios"]:
        lines.append(
            f"{s['name']:<14}{s['round_p50_ms']:>9.1f} ms{s['round_p99_ms']:>9.1f} ms"
            f"{s['checks_per_offer']:>14.2f}{s['offers_per_s']:>12,.0f}"
            f"{s['redis_bytes_per_waiting']:>17,.0f}"
        )
    lines.append(f"cost per decision, largest / smallest: {result['cost_growth']:.2f}x")
    return "\n".join(lines)
