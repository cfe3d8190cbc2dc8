"""Issue 9, reliability: `ccaas serve` replicas killed, stopped and started at bad moments.

A replica killed with -9 mid-load costs nothing (the other keeps routing, the killed one
comes back); SIGTERM ends a replica within 10 s, exit code 0, with no offer made once its
HTTP port has closed; a replica started while Redis is down waits for it, then serves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.faults import (
    ROUTING_YAML,
    Check,
    FaultRun,
    LoadSettings,
    RedisProcess,
    Replica,
    entry_ms,
    port_open,
    when,
)
from tests.helpers import bearer

pytestmark = pytest.mark.slow


def offer_by(replica: Replica) -> Callable[[dict[str, str]], bool]:
    """An event test: an offer made by the router of the replica as it runs now."""
    name = replica.router_name
    return lambda e: e.get("type") == "contact_offered" and e.get("router") == name


async def test_replica_killed_mid_load_loses_nothing_and_comes_back(tmp_path: Path) -> None:
    """kill -9 of one of two routing replicas mid-load; clients go on with the other (an
    action cut off by the kill is sent again there: retries are safe); the killed one is
    started again on its port, serves and routes."""
    async with FaultRun(tmp_path) as run:
        await run.run_load(5.0)
        victim = run.replicas[0]
        killed = victim.kill()
        await asyncio.sleep(2.0)
        victim.start()
        assert run.session is not None
        await victim.wait_healthy(run.session)
        await run.run_load(3.0)
        extra = []
        try:
            await run.tail.wait_for(
                f"contact_offered by the restarted {victim.router_name}", offer_by(victim), 10.0
            )
        except AssertionError as exc:
            extra.append(f"the restarted replica never routed: {exc}")
        unfinished = await run.drain()
        report = await run.check(Check(resumed_after=[killed]), unfinished=unfinished, extra=extra)
    assert not report.problems, report.text()


async def trickle_contact(session: aiohttp.ClientSession, url: str, seconds: float) -> None:
    """A client still sending its request body when the replica is told to stop."""
    body = json.dumps({"channel": "chat", "external_id": f"slow-{url}", "queue": "chat"}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 8):
            yield body[i : i + 8]
            await asyncio.sleep(seconds * 8 / len(body))

    try:
        async with session.post(
            f"{url}/v1/contacts",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=15),
        ) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError):
        pass  # the replica may drop it: only what the replica does after closing matters


async def wait_port_closed(port: int, seconds: float) -> float | None:
    """Polls the port every 10 ms; the time it was first found closed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not port_open(port):
            return time.time()
        await asyncio.sleep(0.01)
    return None


async def test_sigterm_ten_times_under_load_exits_clean_and_offers_nothing_after_close(
    tmp_path: Path,
) -> None:
    """Ten routing replicas in turn, each started, routing, then sent SIGTERM while a client
    is mid-request: each exits 0 within 10 s and no contact_offered carries its router name
    after its HTTP port closed. An API-only replica (CCAAS_ROUTER=false) takes the load
    throughout."""
    stops: list[tuple[Replica, float, float | None, int | None, float]] = []
    problems: list[str] = []
    light = LoadSettings(agents=10, rate=15.0)  # leaves a core for the replicas starting
    async with FaultRun(tmp_path, replicas=0, api_only=1, load=light) as run:
        assert run.session is not None
        run.load.start()
        started: list[Replica] = []

        def start_next(n: int) -> Replica:
            replica = Replica(tmp_path, f"router{n}", run.redis.url, run.tenant, run.routing_file)
            replica.start()
            started.append(replica)
            return replica

        async def sigterm(replica: Replica, slow: asyncio.Task[None]) -> None:
            sent = replica.terminate()
            closed = await wait_port_closed(replica.port, 10.0)
            code = await replica.wait_exit(max(0.0, sent + 10.0 - time.time()))
            stops.append((replica, sent, closed, code, time.time() - sent))
            await slow

        stopping: list[asyncio.Task[None]] = []
        upcoming = start_next(0)
        try:
            for n in range(10):
                replica = upcoming
                await replica.wait_healthy(run.session)
                replica.up = False  # never in the clients' pool: only its router matters
                await run.tail.wait_for(
                    f"contact_offered by {replica.router_name}", offer_by(replica), 10.0
                )
                slow = asyncio.create_task(trickle_contact(run.session, replica.url, 1.0))
                await asyncio.sleep(0.2)
                if n < 9:
                    upcoming = start_next(n + 1)  # a rolling restart: the next one starts now
                stopping.append(asyncio.create_task(sigterm(replica, slow)))
            await asyncio.gather(*stopping)
        finally:
            for replica in started:
                await replica.stop()
        await run.load.stop()
        report = await run.check(Check())
        history = await run.history()
    for replica, sent, closed, code, took in stops:
        shut = f"{closed - sent:.2f} s" if closed else "never"
        print(f"{replica.name}: port closed after {shut}, exit {code} after {took:.2f} s")
        if code != 0:
            problems.append(
                f"{replica.name} ({replica.router_name}) exit code {code} ({took:.1f} s after "
                f"SIGTERM; None = still running after 10 s):\n{replica.log_tail()}"
            )
        if closed is None:
            problems.append(f"{replica.name}: its port stayed open 10 s after SIGTERM")
            continue
        late = [
            f"{e.get('offer')} to {e.get('agent')} at {when(entry_ms(i) / 1000)}"
            for i, e in history
            if e.get("type") == "contact_offered"
            and e.get("router") == replica.router_name
            and entry_ms(i) > closed * 1000
        ]
        if late:
            problems.append(
                f"{replica.name} ({replica.router_name}) offered after its port closed at "
                f"{when(closed)} (SIGTERM at {when(sent)}): {late[:5]}"
            )
    assert not problems, "\n".join(problems)
    assert not report.problems, report.text()


async def test_replica_started_while_redis_is_down_waits_then_serves(tmp_path: Path) -> None:
    """A replica started before its Redis keeps running, logs that it waits, keeps its HTTP
    port closed; once Redis is up it serves (the port opens) and routes."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING_YAML)
    redis = RedisProcess(tmp_path / "redis")  # not started yet: nothing listens on its port
    replica = Replica(tmp_path, "early", redis.url, "early", routing)
    replica.start()
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            assert replica.running, (
                f"the replica exited while Redis was down:\n{replica.log_tail()}"
            )
            assert not port_open(replica.port), "the HTTP port opened before Redis was up"
            await asyncio.sleep(0.1)
        said = [line for line in replica.log_lines() if "wait" in line.lower()]
        assert any("redis" in line.lower() for line in said), (
            f"no log line says it waits for Redis:\n{replica.log_tail()}"
        )
        up = await redis.start()
        async with aiohttp.ClientSession(headers=bearer(tenant="early")) as session:
            await replica.wait_healthy(session, 10.0)
            opened = time.time() - up
            base = replica.url
            agent = {"name": "Early", "queues": ["chat"]}
            async with session.put(f"{base}/v1/agents/early", json=agent) as response:
                assert response.status == 201, await response.text()
            presence = {"presence": "available"}
            async with session.put(f"{base}/v1/agents/early/presence", json=presence) as response:
                assert response.status == 200, await response.text()
            contact = {"channel": "chat", "external_id": "early-1", "queue": "chat"}
            async with session.post(f"{base}/v1/contacts", json=contact) as response:
                assert response.status == 201, await response.text()
            offered = []
            for _ in range(60):
                async with session.get(f"{base}/v1/agents/early") as response:
                    offered = [
                        w for w in (await response.json())["work"] if w["state"] == "offered"
                    ]
                if offered:
                    break
                await asyncio.sleep(0.05)
            assert offered, "the replica serves but does not route"
        assert opened < 10.0
        replica.terminate()
        assert await replica.wait_exit(10.0) == 0, replica.log_tail()
    finally:
        await replica.stop()
        redis.stop()
