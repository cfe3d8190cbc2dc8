"""Redis killed, restarted, emptied or not there yet, seen from one engine in this process:
the API answers 503 at once, the log says it once, and routing resumes when Redis is back."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.runtime.engine import ENGINE, Engine, create_app
from ccaas.store.health import RedisState
from ccaas.web.services import SERVICES
from tests.helpers import TEST_CONFIG, TEST_SECRET, bearer

SUPPORT_CHAT = {"channel": "chat", "external_id": "c-1", "queue": "support"}


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> float:
    """Seconds until `check` holds; fails after `seconds`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def api(own_redis: EmbeddedRedis) -> AsyncIterator[TestClient]:
    client = TestClient(
        TestServer(create_app(own_redis.url, TEST_CONFIG, signing_secret=TEST_SECRET, tenant="t1")),
        headers=bearer(),
    )
    await client.start_server()
    yield client
    await client.close()


async def _agent_ready(api: TestClient, agent_id: str = "ann") -> None:
    agent = {"name": agent_id, "queues": ["support"]}
    assert (await api.put(f"/v1/agents/{agent_id}", json=agent)).status in (200, 201)
    presence = await api.put(f"/v1/agents/{agent_id}/presence", json={"presence": "available"})
    assert presence.status == 200


async def _state(api: TestClient, contact_id: str) -> str:
    response = await api.get(f"/v1/contacts/{contact_id}")
    return str((await response.json()).get("state")) if response.status == 200 else ""


def _kill(server: EmbeddedRedis) -> None:
    assert server.process is not None
    server.process.kill()
    server.process.wait()
    server.process = None


async def test_an_outage_answers_503_at_once_logs_once_and_routing_resumes(
    own_redis: EmbeddedRedis, api: TestClient
) -> None:
    await _agent_ready(api)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        _kill(own_redis)
        health = api.app[SERVICES].ctx.health
        await _until(lambda: asyncio.sleep(0, not health.up), 1.5)
        for _ in range(20):
            started = time.monotonic()
            response = await api.post("/v1/contacts", json=SUPPORT_CHAT)
            assert time.monotonic() - started < 0.5
            assert response.status == 503 and response.headers["Retry-After"] == "1"
            assert (await response.json())["type"] == "/v1/problems/unavailable"
        assert (await api.get("/healthz")).status == 503
        await asyncio.sleep(1.0)  # the duties fail meanwhile, quietly
        await own_redis.start()  # the same port and the same AOF
        await _until(lambda: asyncio.sleep(0, health.up), 2.0)
    events = [e["event"] for e in logs if e["log_level"] in ("warning", "error", "info")]
    assert events.count("redis_unreachable") == 1 and events.count("redis_reachable") == 1
    assert not [e for e in logs if e["event"] in ("duty_failed", "request_failed")]
    # the agent survived in the AOF, and the router (re-reading everything) offers at once
    created = await api.post("/v1/contacts", json=SUPPORT_CHAT)
    assert created.status == 201
    contact_id = (await created.json())["id"]
    await _until(lambda: _state_is(api, contact_id, "offered"), 2.0)


async def _state_is(api: TestClient, contact_id: str, state: str) -> bool:
    return await _state(api, contact_id) == state


async def test_a_redis_back_empty_is_set_up_again_and_routes(
    own_redis: EmbeddedRedis, api: TestClient
) -> None:
    await _agent_ready(api)
    health = api.app[SERVICES].ctx.health
    with capture_logs() as logs:
        _kill(own_redis)
        shutil.rmtree(own_redis.data_dir)  # a failover to a replica without the data
        await own_redis.start()
        await _until(lambda: asyncio.sleep(0, health.generation > 0 and health.up), 3.0)
    (lost,) = [e for e in logs if e["event"] == "redis_data_lost"]
    assert lost["log_level"] == "error"
    assert (await (await api.get("/healthz")).json())["status"] == "ok"
    assert (await api.get("/v1/agents/ann")).status == 404  # the agents are gone with it
    await _agent_ready(api)  # their consoles sign in again
    created = await api.post("/v1/contacts", json=SUPPORT_CHAT)
    assert created.status == 201, await created.text()
    contact_id = (await created.json())["id"]
    await _until(lambda: _state_is(api, contact_id, "offered"), 2.0)


async def test_healthz_says_empty_while_it_is_set_up_again(
    own_redis: EmbeddedRedis, api: TestClient
) -> None:
    await api.app[ENGINE].stop_duties()  # the watcher would set it up again at once
    ctx = api.app[SERVICES].ctx
    ctx.health.change(RedisState.EMPTY, "Redis holds none of this tenant's data")
    response = await api.get("/healthz")
    assert response.status == 503
    assert (await response.json())["redis"] == "empty"


async def test_an_engine_started_before_its_redis_waits_for_it(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    engine = Engine(server.url, TEST_CONFIG, tenant="t1")
    with capture_logs() as logs:
        starting = asyncio.create_task(engine.start())
        await asyncio.sleep(1.0)
        assert not starting.done()
        await server.start()
        try:
            ctx = await asyncio.wait_for(starting, 3.0)
            assert ctx.health.up and await ctx.redis.get(ctx.keys.epoch)
        finally:
            await engine.stop()
            server.stop()
    waiting = [e for e in logs if e["event"] == "waiting_for_redis"]
    assert len(waiting) == 1 and waiting[0]["log_level"] == "warning"
    assert any(e["event"] == "redis_reachable" for e in logs)


async def test_the_engine_of_an_app_stops_its_duties_before_it_closes(
    own_redis: EmbeddedRedis, api: TestClient
) -> None:
    engine = api.app[ENGINE]
    duties = engine.duties
    assert duties
    await engine.stop_duties()
    assert all(d.done() for d in duties)
    assert (await api.get("/v1/queues")).status == 200  # requests are still answered


async def test_a_redis_that_refuses_writes_is_not_serving(
    own_redis: EmbeddedRedis, api: TestClient
) -> None:
    ctx = api.app[SERVICES].ctx
    await ctx.redis.execute_command("REPLICAOF", "127.0.0.1", "1")  # as after a failover
    try:
        await _until(lambda: asyncio.sleep(0, not ctx.health.up), 1.5)
        response = await api.put("/v1/agents/ann", json={"name": "Ann"})
        assert response.status == 503
        assert (await api.get("/healthz")).status == 503
    finally:
        await ctx.redis.execute_command("REPLICAOF", "NO", "ONE")
    await _until(lambda: asyncio.sleep(0, ctx.health.up), 2.0)
    assert (await api.put("/v1/agents/ann", json={"name": "Ann"})).status == 201
