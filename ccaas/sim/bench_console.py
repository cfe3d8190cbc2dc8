"""`ccaas bench console`: N agents' consoles on one replica; how fast an offer reaches its
console and what each connection costs the replica.

The replica is a real `ccaas serve` process (router and API, its own process as in
production) on a private redis-server; this process plays the N consoles (one websocket
each) and the customers, who arrive at `rate` per second. Delivery is measured from the
offer's commit (the claim's `ts`, Redis's clock, µs) to the frame's arrival here; both run
on this machine, so they share a clock. Memory per connection is the replica's resident
memory grown while the consoles connected, divided by their number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from ..domain.roles import Principal, Role
from ..domain.tokens import TokenSigner
from ..errors import InvalidInput
from ..runtime.embedded_redis import free_port
from ..runtime.settings import Settings
from .bench_routing import bench_redis

TENANT = "bench"
RULES = """
channels:
  chat: {capacity: 100}
queues:
  bench:
    channels: [chat]
    offer_timeout_seconds: 600
classification:
  - name: all
    queue: bench
"""
CONNECT_AT_ONCE = 50  # consoles opening their sockets together (as after a replica restart)
CONNECT_TRIES = 20  # a console refused 503 (the replica's Redis pool busy) tries again
SETTLE_SECONDS = 2.0  # the replica's memory is read this long after the last console opened


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


@contextlib.asynccontextmanager
async def _replica(redis_url: str, secret: str, agents: int) -> AsyncIterator[tuple[str, int]]:
    """A `ccaas serve` on `redis_url`; its URL and pid."""
    with tempfile.TemporaryDirectory(prefix="ccaas-bench-console-") as folder:
        routing = Path(folder) / "routing.yaml"
        routing.write_text(RULES)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")} | {
            "CCAAS_REDIS_URL": redis_url,
            "CCAAS_TENANT": TENANT,
            "CCAAS_HTTP_PORT": str(port),
            "CCAAS_ROUTING_FILE": str(routing),
            "CCAAS_AUTH_SECRET": secret,
            "CCAAS_DATA_DIR": str(Path(folder) / "var"),
            "CCAAS_LOG_FORMAT": "json",
            "CCAAS_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [sys.executable, "-m", "ccaas.cli", "serve"],
            env=env,
            preexec_fn=lambda: _raise_open_files(agents + 1000),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await _healthy(url, process)
            yield url, process.pid
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 20)


async def _healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the bench's replica exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "/healthz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the bench's replica did not become healthy within a minute")


class Consoles:
    """N agents' websockets, recording when each offer frame arrived (µs)."""

    def __init__(self, url: str, signer: TokenSigner, agents: int) -> None:
        self.url, self.signer, self.agents = url, signer, agents
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.delivered: dict[str, float] = {}  # offer id -> delivery time (ms)
        self.refused = 0  # handshakes answered 503 and tried again
        self.expected = 0  # when that many offers arrived, `all_in` is set
        self.all_in = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def open(self) -> None:
        ids = [f"agent{i:05d}" for i in range(self.agents)]
        for start in range(0, len(ids), CONNECT_AT_ONCE):
            await asyncio.gather(*(self._open(a) for a in ids[start : start + CONNECT_AT_ONCE]))

    async def _open(self, agent_id: str) -> None:
        token = self.signer.issue(Principal(Role.AGENT, agent_id), 3600).token
        for attempt in range(CONNECT_TRIES):
            try:
                socket = await self.session.ws_connect(
                    self.url + "/v1/agent/ws", params={"access_token": token}, max_msg_size=0
                )
                break
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status != 503 or attempt == CONNECT_TRIES - 1:
                    raise
                self.refused += 1
                await asyncio.sleep(0.1 * (attempt + 1))
        snapshot = await socket.receive_json()
        assert snapshot["type"] == "snapshot", snapshot
        await socket.send_json({"type": "presence", "id": "1", "presence": "available"})
        self.sockets.append(socket)
        self._readers.append(asyncio.create_task(self._read(socket)))

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame["type"] == "offer" and "ts" in frame:
                self.delivered[frame["offer_id"]] = time.time() * 1000 - frame["ts"] / 1000
                if self.expected and len(self.delivered) >= self.expected:
                    self.all_in.set()

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)
        await self.session.close()


async def _admin(session: aiohttp.ClientSession, url: str, method: str, path: str,
                 body: Any) -> None:  # fmt: skip
    async with session.request(method, url + path, json=body) as answer:
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {await answer.text()}")


async def _customers(session: aiohttp.ClientSession, url: str, rate: float, seconds: float
                     ) -> int:  # fmt: skip
    """Chats arriving at `rate` per second for `seconds`; how many arrived."""
    total, sent, start = int(rate * seconds), 0, time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            body = {"channel": "chat", "external_id": f"c-{sent}-{secrets.token_hex(3)}"}
            await _admin(session, url, "POST", "/v1/contacts", body)
            sent += 1
        await asyncio.sleep(0.005)
    return sent


async def measure(url_of_redis: str, agents: int, rate: float, seconds: float) -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)
    signer = TokenSigner(secret.encode(), TENANT)
    _raise_open_files(agents + 1000)
    async with _replica(url_of_redis, secret, agents) as (url, pid):
        admin = signer.issue(Principal(Role.ADMIN, "bench"), 3600).token
        headers = {"Authorization": f"Bearer {admin}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            for start in range(0, agents, 100):
                await asyncio.gather(
                    *(
                        _admin(
                            session,
                            url,
                            "PUT",
                            f"/v1/agents/agent{i:05d}",
                            {"name": f"Agent {i}", "queues": ["bench"]},
                        )
                        for i in range(start, min(agents, start + 100))
                    )
                )
            before = _rss_bytes(pid)
            consoles = Consoles(url, signer, agents)
            try:
                opening = time.monotonic()
                await consoles.open()
                connected_in = time.monotonic() - opening
                await asyncio.sleep(SETTLE_SECONDS)
                after = _rss_bytes(pid)
                consoles.expected = int(rate * seconds)
                arrived = await _customers(session, url, rate, seconds)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):  # the last offers are still on their way
                        await consoles.all_in.wait()
            finally:
                await consoles.close()
    waits = list(consoles.delivered.values())
    return {
        "agents": agents,
        "offers": len(waits),
        "arrivals": arrived,
        "rate_per_s": rate,
        "p50_ms": round(_percentile(waits, 50), 3),
        "p99_ms": round(_percentile(waits, 99), 3),
        "bytes_per_connection": int(max(0, after - before) / agents),
        "connect_seconds": round(connected_in, 2),
        "handshakes_refused_503": consoles.refused,
    }


async def run_console_bench(
    settings: Settings, agents: int, rate: float, seconds: float, as_json: bool
) -> int:
    if agents < 1:
        raise InvalidInput(f"--agents must be at least 1; got {agents}", field="agents")
    if rate <= 0 or seconds <= 0:
        raise InvalidInput("--rate and --seconds must be above 0", field="rate")
    async with bench_redis(settings) as url:
        result = await measure(url, agents, rate, seconds)
    if as_json:
        print(json.dumps(result))
    else:
        print(
            f"{result['agents']} consoles, {result['offers']} offers at {rate:g}/s: "
            f"delivery p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; "
            f"{result['bytes_per_connection']:,} bytes per connection on the replica"
        )
    return 0
