"""The demo stays alive: the simulator plays the seeded agents on the engine's clock, against
the real routing file, a real router and Redis, and never touches an agent of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.runtime.demo import load_demo, read_seeds
from ccaas.runtime.rules_sync import load_rules_file
from ccaas.sim.demo_centre import DemoCentre, Pace
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from ccaas.store.queues import QueueRepository

ROOT = Path(__file__).resolve().parents[2]
MONDAY_11_LONDON = 1_699_873_200_000  # 2023-11-13 11:00 GMT: every queue is open
TUESDAY_NIGHT = 1_700_000_000_000  # 2023-11-14 22:13 GMT: chats and most calls go elsewhere
# busier than the demo's own pace, so that a few simulated minutes show the whole life
STEP = 3  # simulated seconds between two steps: well inside the shortest offer timeout
PACE = Pace(arrival_every_seconds=3.0, handle_seconds=(10.0, 60.0), max_waiting=8)


async def _centre(redis: Redis, start_ms: int) -> tuple[StoreContext, DemoCentre, Router]:
    clock = ManualClock(start_ms)
    ctx = StoreContext.create(redis, "demo", load_rules_file(ROOT / "config/routing.yaml"), clock)
    seeds = read_seeds(ROOT / "seeds")
    await load_demo(ctx, seeds)
    return ctx, DemoCentre(ctx, seeds.agent_ids, seeds.contacts, PACE, seed=7), Router(ctx)


async def _run(ctx: StoreContext, centre: DemoCentre, router: Router, seconds: int) -> int:
    """Step the centre and the router every STEP simulated seconds; the longest backlog."""
    assert isinstance(ctx.clock, ManualClock)
    queues, longest = QueueRepository(ctx), 0
    for _ in range(seconds // STEP):
        await centre.step()
        await router.timers_once()
        await router.route_once()
        longest = max(longest, sum((await queues.waiting_counts()).values()))
        ctx.clock.advance(STEP)
    return longest


async def _events(ctx: StoreContext, since: str) -> list[dict[str, str]]:
    return [fields for _, fields in await ctx.redis.xrange(ctx.keys.events, f"({since}")]


async def _last_event_id(ctx: StoreContext) -> str:
    last = await ctx.redis.xrevrange(ctx.keys.events, count=1)
    return str(last[0][0]) if last else "0-0"


@pytest.mark.parametrize("start", [MONDAY_11_LONDON, TUESDAY_NIGHT], ids=["day", "night"])
async def test_the_demo_agents_answer_complete_and_stay_available_for_minutes(
    redis: Redis, start: int
) -> None:
    ctx, centre, router = await _centre(redis, start)
    after_load = await _last_event_id(ctx)
    longest = await _run(ctx, centre, router, seconds=180)
    completed_before = centre.tally.completed
    longest = max(longest, await _run(ctx, centre, router, seconds=60))
    events = await _events(ctx, after_load)
    kinds = [e["type"] for e in events]
    assert kinds.count("contact_completed") >= 25, centre.tally
    assert centre.tally.completed >= completed_before + 3  # still completing, minutes on
    assert "offer_timed_out" not in kinds  # nobody lets an offer ring out
    assert not [e for e in events if e["type"] == "agent_presence" and e["presence"] == "away"]
    channels = {e["channel"] for e in events if e["type"] == "contact_queued"}
    assert channels == {"voice", "chat", "email", "social"}
    views = await Desk(ctx).views(centre.agent_ids)
    assert sum(v["presence"] == "available" for v in views) >= 10
    assert not [v["id"] for v in views if v["away_reason"] == "no answer"]
    assert longest <= len(centre.templates) + PACE.max_waiting  # the seeds, then bounded
    assert sum((await QueueRepository(ctx).waiting_counts()).values()) <= PACE.max_waiting


async def test_an_agent_not_in_the_seeds_gets_only_what_is_sent_to_it(redis: Redis) -> None:
    ctx, centre, router = await _centre(redis, MONDAY_11_LONDON)
    # the README tour's agent: the social team's profile, the only social_media 10
    await AgentRepository(ctx).upsert(
        "tour", AgentProfile("Tour Agent", {"social_media": 10}, profile="social_team")
    )
    await Desk(ctx).set_presence("tour", Presence.AVAILABLE)
    await _run(ctx, centre, router, seconds=180)
    offered = [e for e in await _events(ctx, "0-0") if e["type"] == "contact_offered"]
    assert len(offered) >= 20
    assert not [e for e in offered if e["agent"] == "tour"]
    tour = await Ingest(ctx).enqueue(
        NewContact(Channel.SOCIAL, "tour-1", skills={"social_media": 10})
    )
    await _run(ctx, centre, router, seconds=30)
    view = await Desk(ctx).view("tour")
    assert [w["contact_id"] for w in view["work"]] == [tour.contact_id]
    assert view["work"][0]["state"] == "offered"  # the simulator does not answer for it
    assert view["presence"] == "available"


async def test_a_seed_contact_the_rules_refuse_is_logged_by_name_and_skipped(
    redis: Redis, tmp_path: Path
) -> None:
    (tmp_path / "agents.yaml").write_text((ROOT / "seeds/agents.yaml").read_text())
    (tmp_path / "scenarios.yaml").write_text(
        "contacts:\n"
        "  - {channel: social, external_id: post-1, queue: vip}\n"  # vip takes no social
        "  - {channel: chat, external_id: chat-1, attributes: {intent: router_setup}}\n"
    )
    ctx = StoreContext.create(
        redis, "demo", load_rules_file(ROOT / "config/routing.yaml"), ManualClock()
    )
    with capture_logs() as logs:
        assert await load_demo(ctx, read_seeds(tmp_path)) == (40, 1)
    skipped = [e for e in logs if e["event"] == "demo_contact_skipped"]
    assert len(skipped) == 1 and skipped[0]["log_level"] == "warning"
    assert skipped[0]["index"] == 0 and skipped[0]["external_id"] == "post-1"
    assert "queue 'vip' takes" in skipped[0]["problem"]
    assert await ctx.redis.hget(ctx.keys.external_ids, "chat:chat-1")
