"""Two router processes (`ccaas serve` twice) on one Redis under concurrent load.

Replaying the event log afterwards must show every contact completed exactly once, no
contact offered while it already had an agent, and no agent over its capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from ruamel.yaml import YAML

from ccaas.desk.service import Desk
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.errors import Conflict
from ccaas.ingest.service import Ingest
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.runtime.rules_sync import join
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository
from tests.helpers import bearer
from tests.serve_processes import distinct_ports, serve_env, start_serve

TENANT = "duo"
CONFIG = RoutingConfig.model_validate(
    {
        "queues": {
            "chat": {"channels": ["chat"], "offer_timeout_seconds": 2},
            "voice": {"channels": ["voice"], "offer_timeout_seconds": 2},
        }
    }
)
AGENTS = [f"agent{i}" for i in range(12)]
CONTACTS = 600


@pytest.fixture
def two_routers(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[list[int]]:
    routing = tmp_path / "routing.yaml"
    YAML(typ="safe", pure=True).dump(CONFIG.model_dump(mode="json"), routing)
    ports = distinct_ports(2)
    processes = [start_serve(serve_env(redis_server.url, TENANT, port, routing)) for port in ports]
    yield ports
    for process in processes:
        process.terminate()
    for process in processes:
        assert process.wait(timeout=20) == 0, "router did not stop cleanly"


async def wait_healthy(port: int) -> None:
    async with aiohttp.ClientSession(headers=bearer(tenant=TENANT)) as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"router on port {port} never became healthy")


@pytest.mark.slow
async def test_two_routers_never_double_assign_or_lose(
    redis: Redis, two_routers: list[int]
) -> None:
    for port in two_routers:
        await wait_healthy(port)
    ctx = StoreContext.create(redis, TENANT, CONFIG)
    await join(ctx)  # the routers published their rules file: run on that version too
    agents, contacts, offers = AgentRepository(ctx), ContactRepository(ctx), OfferRepository(ctx)
    desk, ingest = Desk(ctx), Ingest(ctx)
    for agent_id in AGENTS:
        await agents.upsert(agent_id, AgentProfile(agent_id, {}, ["chat", "voice"]))
        await desk.set_presence(agent_id, Presence.AVAILABLE)

    async def customers() -> None:
        for burst in range(0, CONTACTS, 50):
            await ingest.enqueue_many(
                [
                    NewContact(
                        Channel.VOICE if i % 3 == 0 else Channel.CHAT,
                        f"x{i}",
                        "voice" if i % 3 == 0 else "chat",
                    )
                    for i in range(burst, burst + 50)
                ]
            )
            await asyncio.sleep(0.02)

    async def agent_desktop(agent_id: str, n: int) -> None:
        """Accepts most offers, rejects some, lets some ring out, goes on breaks."""
        step = 0
        while not closing.is_set():
            step += 1
            profile = await desk.view(agent_id)
            for item in profile["work"]:
                # Conflict: the offer rang out or was withdrawn meanwhile, which is allowed
                with contextlib.suppress(Conflict):
                    if item["state"] == "offered" and (step + n) % 7 == 0:
                        await offers.reject(item["offer_id"], agent_id)
                    elif item["state"] == "offered" and (step + n) % 11 != 0:
                        await desk.accept(item["offer_id"], agent_id)  # else: let it ring out
                    elif item["state"] == "connected":
                        await contacts.complete(item["contact_id"], agent_id, "resolved")
            if profile["presence"] == "away" or step % 40 == 0:
                await desk.set_presence(agent_id, Presence.AVAILABLE)
            elif step % 29 == 0:
                await desk.set_presence(agent_id, Presence.AWAY, "break")
            await asyncio.sleep(0.005)

    closing = asyncio.Event()  # desks stop between requests, never cancelled mid-request
    desks = [asyncio.create_task(agent_desktop(a, i)) for i, a in enumerate(AGENTS)]
    await customers()
    states: dict[str, str] = {}
    for _ in range(300):
        states = {}
        async for key in redis.scan_iter(match=f"{ctx.keys.contact('')}*", count=1000):
            states[key] = await redis.hget(key, "state")
        if list(states.values()).count("completed") == CONTACTS:
            break
        await asyncio.sleep(0.1)
    closing.set()
    await asyncio.gather(*desks)
    stuck = {key: await redis.hgetall(key) for key, state in states.items() if state != "completed"}
    assert not stuck, f"{len(stuck)} of {CONTACTS} contacts never completed: {stuck}"

    # replay the event log
    holder: dict[str, str] = {}
    held: dict[str, dict[str, str]] = {a: {} for a in AGENTS}
    done: dict[str, int] = {}
    offers_by_router: dict[str, int] = {}
    for _, event in await redis.xrange(ctx.keys.events):
        kind, contact, agent = event["type"], event.get("contact"), event.get("agent")
        if kind == "contact_offered":
            offers_by_router[event["router"]] = offers_by_router.get(event["router"], 0) + 1
            assert contact not in holder, (
                f"{contact} offered to {agent} while with {holder[contact]}"
            )
            holder[contact] = agent
            held[agent][contact] = event["channel"]
            channels = list(held[agent].values())
            if "voice" in channels:
                assert len(channels) == 1, f"{agent} had {channels} at once"
            assert channels.count("chat") <= 3, f"{agent} over chat capacity"
        elif kind in ("offer_rejected", "offer_timed_out", "offer_withdrawn", "contact_completed"):
            assert holder.pop(contact) == agent
            del held[agent][contact]
            if kind == "contact_completed":
                done[contact] = done.get(contact, 0) + 1
    assert len(done) == CONTACTS and set(done.values()) == {1}
    assert len(offers_by_router) == 2, f"offers came from {offers_by_router}"
    assert sum(offers_by_router.values()) >= CONTACTS
