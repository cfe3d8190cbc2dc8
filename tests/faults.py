"""Fault runs (issue 9, reliability): the engine under real faults, checked as a user sees it.

A fault run starts a redis-server with AOF (`appendfsync everysec`) in a temporary folder as
a process the test controls (kill -9, SIGSTOP/SIGCONT, restart on the same folder and port,
wipe the folder, or put back a copy of its append-only file taken a moment earlier), and real
`ccaas serve` replicas on it, each logging JSON to a file. Customers arrive over HTTP at a
steady rate; agents sit at their desks, each polling its own `GET /v1/agents/{id}` and
accepting, rejecting or ignoring each offer it sees (seeded), completing what it holds after
a short while, always naming itself as `agent_id`. Every HTTP answer is recorded.

The checker then reads the event stream (`ccaas:{tenant}:events`) and the answers, and says
in plain words what a user would have noticed: a contact lost or given to two agents, an
offer id issued twice, an agent told it holds another's contact, an agent over capacity, a
500, a hang, a slow 503, routing that did not resume.

Run them with `pytest tests/integration/test_faults_*.py -rA`: each run prints its numbers
(answers by kind and status, events by type, how soon routing resumed) and writes every
problem and the last answers to fault-report.txt in its tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ccaas.runtime.embedded_redis import EmbeddedRedis, end_process, free_port
from ccaas.supervise import raise_if_cancelled
from tests.helpers import bearer
from tests.serve_processes import serve_env

Entry = tuple[str, dict[str, str]]  # an event stream entry: its id and its fields

CLIENT_TIMEOUT = 3.0  # every request gives up after this; a timeout is a failure (a hang)
FAULT_ANSWER_SECONDS = 1.5  # while Redis is unreachable, each call answers 503 within this
MEASURE_SLACK = 0.25  # the load's own clock reads on a busy 2-core machine (load traffic only)
RESUME_SECONDS = 2.0  # routing resumes this soon after a fault ends
NORMAL_AGAIN_SECONDS = 2.5  # "calls answer normally again within ~2 s"
CAPACITY = {"chat": 3, "voice": 1}  # the channel defaults of the rules; voice is exclusive
EXCLUSIVE = {"voice"}

ROUTING_YAML = """\
# fault runs: two queues, offers ring for 2 s, voice has a 1 s wrap-up
queues:
  chat: {channels: [chat], offer_timeout_seconds: 2}
  voice: {channels: [voice], offer_timeout_seconds: 2, wrap_up_seconds: 1}
"""


def entry_ms(entry_id: str) -> int:
    """The Redis time (ms) of a stream entry: the first part of its id."""
    return int(entry_id.split("-", 1)[0])


def events_key(tenant: str) -> str:
    return f"ccaas:{{{tenant}}}:events"


def contact_key(tenant: str, contact_id: str) -> str:
    return f"ccaas:{{{tenant}}}:contact:{contact_id}"


def when(t: float) -> str:
    """A wall-clock time (epoch seconds) as the log shows it, to the millisecond."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


# -- the processes ---------------------------------------------------------------------------


class RedisProcess:
    """A redis-server with AOF (everysec) that the test kills, stalls, restarts, wipes or cuts
    back; the folder and port stay the same across restarts."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_file = data_dir.with_name(data_dir.name + "-redis.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """The embedded Redis's command (AOF on), with the AOF never rewritten (so a copy stays
        a prefix of it) and the log beside the folder; a later option wins."""
        return [
            *EmbeddedRedis(self.data_dir, self.port).command(),
            "--appendfsync", "everysec",
            "--auto-aof-rewrite-percentage", "0",
            "--logfile", str(self.log_file.resolve()),
        ]  # fmt: skip

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, wait_seconds: float = 15.0) -> float:
        """Start on the folder as it is; returns the time (epoch s) it first answered PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: ASYNC220 (it is started, never waited on here)
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + wait_seconds
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"redis-server exited with {self.process.returncode}; see {self.log_file}"
                    )
                try:
                    if await client.ping():
                        return time.time()
                except (RedisError, OSError):
                    await asyncio.sleep(0.02)
        finally:
            await client.aclose()
        raise AssertionError(f"redis-server did not answer within {wait_seconds} s")

    def kill(self) -> float:
        """kill -9; returns the time it was killed."""
        assert self.process is not None
        self.process.kill()
        at = time.time()
        self.process.wait()
        self.paused = False
        return at

    def pause(self) -> float:
        """SIGSTOP: Redis is stalled (connections stay open, nothing answers)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True
        return time.time()

    def resume(self) -> float:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False
        return time.time()

    def aof_paths(self) -> list[Path]:
        """Redis 6 keeps appendonly.aof; Redis 7 an appendonlydir/ with a manifest."""
        return [
            p
            for p in (self.data_dir / "appendonly.aof", self.data_dir / "appendonlydir")
            if p.exists()
        ]

    def copy_aof(self, dest: Path) -> float:
        """Copy the append-only file(s) as they are now. Redis is stalled for the copy, so it
        ends at a command boundary and holds every write acknowledged so far (Redis writes
        the AOF before it replies). Returns the time of the copy."""
        dest.mkdir(parents=True)
        self.pause()
        try:
            at = time.time()
            for path in self.aof_paths():
                if path.is_dir():
                    shutil.copytree(path, dest / path.name)
                else:
                    shutil.copy2(path, dest / path.name)
        finally:
            self.resume()
        return at

    def save_folder(self, dest: Path) -> None:
        """Copy the whole data folder (Redis must be down), to read its history later."""
        assert not self.running
        shutil.copytree(self.data_dir, dest)

    def restore_aof(self, copy: Path) -> None:
        """Put back an earlier copy of the append-only file(s) (Redis must be down)."""
        assert not self.running
        for path in self.aof_paths():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        for path in copy.iterdir():
            if path.is_dir():
                shutil.copytree(path, self.data_dir / path.name)
            else:
                shutil.copy2(path, self.data_dir / path.name)

    def wipe(self, keep_as: Path) -> None:
        """Empty the data folder (Redis must be down); the old one is kept as `keep_as`."""
        assert not self.running
        self.data_dir.rename(keep_as)
        self.data_dir.mkdir()

    def stop(self) -> None:
        """At the end of a test, whatever state it is in."""
        if self.process is None:
            return
        if self.process.poll() is None:
            if self.paused:
                self.process.send_signal(signal.SIGCONT)
            end_process(self.process)
        self.paused = False


async def history_of_folder(folder: Path, tenant: str) -> list[Entry]:
    """The event stream held by a saved Redis data folder, read by a private redis-server."""
    side = RedisProcess(folder)
    await side.start()
    client = Redis.from_url(side.url, decode_responses=True, socket_timeout=10)
    try:
        entries: list[Entry] = await client.xrange(events_key(tenant))
        return entries
    finally:
        await client.aclose()
        side.stop()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Replica:
    """One `ccaas serve` process (started again as needed on the same port), logging JSON
    lines to a file. `up` says whether the harness sends it requests."""

    def __init__(
        self,
        folder: Path,
        name: str,
        redis_url: str,
        tenant: str,
        routing_file: Path,
        *,
        router: bool = True,
        port: int | None = None,
    ) -> None:
        self.name, self.redis_url, self.tenant = name, redis_url, tenant
        self.routing_file, self.router = routing_file, router
        self.port = port or free_port()
        self.log_path = folder / f"{name}.log"
        self.process: subprocess.Popen[str] | None = None
        self.up = False
        self.router_names: list[str] = []  # "{hostname}:{pid}" of each start
        self._log: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def router_name(self) -> str:
        return self.router_names[-1]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        env = serve_env(self.redis_url, self.tenant, self.port, self.routing_file) | {
            "CCAAS_LOG_LEVEL": "INFO",
            "CCAAS_ROUTER": "true" if self.router else "false",
        }
        self._close_log()
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ccaas.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
        )
        self.router_names.append(f"{socket.gethostname()}:{self.process.pid}")

    async def wait_healthy(self, session: aiohttp.ClientSession, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"{self.name} exited while starting:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        self.up = True
                        return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} not healthy within {seconds} s:\n{self.log_tail()}")

    def kill(self) -> float:
        """kill -9; the harness stops sending it requests first. Returns the time."""
        assert self.process is not None
        self.up = False
        self.process.kill()
        at = time.time()
        self.process.wait()
        self._close_log()
        return at

    def terminate(self) -> float:
        """SIGTERM; returns the time it was sent."""
        assert self.process is not None
        self.up = False
        self.process.send_signal(signal.SIGTERM)
        return time.time()

    async def wait_exit(self, seconds: float) -> int | None:
        """The exit code, or None if it is still running after `seconds`."""
        assert self.process is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self._close_log()
                return code
            await asyncio.sleep(0.02)
        return None

    async def stop(self) -> None:
        """At the end of a test: SIGTERM, and kill -9 if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.terminate()
            if await self.wait_exit(25) is None:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(line[:400] for line in self.log_lines()[-lines:])


# -- the clients -----------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP exchange as the client saw it."""

    kind: str  # arrive, poll, register, presence, accept, reject, complete, probe, ...
    method: str
    path: str
    actor: str | None  # the agent acting, if any
    sent: Any
    replica: str
    started: float  # epoch seconds
    ended: float = 0.0
    status: int | None = None
    body: Any = None
    content_type: str = ""
    retry_after: str | None = None
    error: str | None = None  # "timeout" or the connection error; None when answered
    replica_down: bool = False  # the harness had killed or stopped that replica meanwhile
    ref: dict[str, str] = field(default_factory=dict)  # contact and offer the call is about

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def describe(self) -> str:
        who = f" by {self.actor}" if self.actor else ""
        what = self.error or f"{self.status} {json.dumps(self.body)[:300]}"
        return (
            f"{self.method} {self.path}{who} at {when(self.started)} on {self.replica} "
            f"({self.seconds:.2f} s): {what}"
        )


class Api:
    """Sends requests to the replicas that are up (a random one unless told), each with a
    client timeout, and records every answer."""

    def __init__(self, session: aiohttp.ClientSession, replicas: Sequence[Replica], seed: int):
        self.session, self.replicas = session, list(replicas)
        self.rng = random.Random(seed)
        self.answers: list[Answer] = []

    def pick(self) -> Replica | None:
        up = [r for r in self.replicas if r.up]
        return self.rng.choice(up) if up else None

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        actor: str | None = None,
        body: Any = None,
        text: str | None = None,
        replica: Replica | None = None,
        retries: int = 0,
        ref: dict[str, str] | None = None,
        record: bool = True,
    ) -> Answer:
        """One call; with `retries`, a call cut off because its replica was killed is sent
        again (same body) to a replica that is up: the API promises such retries are safe."""
        answer: Answer | None = None
        for _ in range(retries + 1):
            target = replica or self.pick()
            waited = time.monotonic()
            while target is None:  # every replica is down for a moment: wait for one
                assert time.monotonic() - waited < 60, "no replica up for a minute"
                await asyncio.sleep(0.05)
                target = self.pick()
            answer = await self._once(kind, method, path, actor, body, text, target, ref or {})
            if record:
                self.answers.append(answer)
            if not (answer.error and answer.replica_down):
                break
        assert answer is not None
        return answer

    async def _once(
        self,
        kind: str,
        method: str,
        path: str,
        actor: str | None,
        body: Any,
        text: str | None,
        replica: Replica,
        ref: dict[str, str],
    ) -> Answer:
        answer = Answer(kind, method, path, actor, body, replica.name, time.time(), ref=ref)
        options: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)}
        if body is not None:
            options["json"] = body
        elif text is not None:
            options["data"] = text.encode()
        try:
            async with self.session.request(method, replica.url + path, **options) as response:
                raw = await response.read()
                answer.status = response.status
                answer.content_type = response.headers.get("Content-Type", "")
                answer.retry_after = response.headers.get("Retry-After")
                try:
                    answer.body = json.loads(raw) if raw else None
                except ValueError:
                    answer.body = raw.decode(errors="replace")[:500]
        except TimeoutError:
            answer.error = f"timeout: no answer within {CLIENT_TIMEOUT} s"
        except aiohttp.ClientError as exc:
            answer.error = f"{type(exc).__name__}: {exc}"[:300]
        answer.ended = time.time()
        answer.replica_down = not replica.up or not replica.running
        return answer


class EventTail:
    """Follows the event stream live (XREAD), across Redis restarts; a test waits on it."""

    def __init__(self, redis_url: str, tenant: str) -> None:
        self.key = events_key(tenant)
        self.client = Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=1
        )
        self.entries: dict[str, dict[str, str]] = {}
        self.last = "0-0"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                answer = await self.client.xread({self.key: self.last}, count=2000, block=100)
            except (RedisError, OSError):
                await asyncio.sleep(0.1)
                continue
            finally:
                raise_if_cancelled()  # redis-py may swallow a cancellation that lands in a read
            for _, items in answer or []:
                for entry_id, fields in items:
                    self.entries[entry_id] = fields
                    self.last = entry_id

    def offers_by(self, router: str) -> list[Entry]:
        return [
            (i, f)
            for i, f in list(self.entries.items())
            if f.get("type") == "contact_offered" and f.get("router") == router
        ]

    async def wait_for(
        self, what: str, test: Callable[[dict[str, str]], bool], seconds: float
    ) -> Entry:
        deadline = time.monotonic() + seconds
        seen = 0
        while time.monotonic() < deadline:
            items = list(self.entries.items())
            for entry_id, fields in items[seen:]:
                if test(fields):
                    return entry_id, fields
            seen = len(items)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no event {what} within {seconds} s")

    async def close(self) -> None:
        if self._task is not None:
            for _ in range(50):  # again and again: a read may swallow one cancellation
                self._task.cancel()
                done, _ = await asyncio.wait({self._task}, timeout=0.1)
                if done:
                    break
        await self.client.aclose()


@dataclass
class LoadSettings:
    agents: int = 16
    rate: float = 20.0  # contacts per second
    voice_share: float = 0.1
    accept: float = 0.7  # then reject, and the rest are ignored (they ring out)
    reject: float = 0.15
    hold: tuple[float, float] = (0.2, 1.0)  # seconds an agent keeps a connected contact
    poll: float = 0.1  # seconds between an agent's reads of its own desk
    seed: int = 9


class Load:
    """Customers arriving at a steady rate and agents working at their desks over HTTP."""

    def __init__(self, api: Api, settings: LoadSettings, prefix: str) -> None:
        self.api, self.settings, self.prefix = api, settings, prefix
        self.agent_ids = [f"agent{i:02d}" for i in range(settings.agents)]
        self.acked: dict[str, Answer] = {}  # contact id -> the answer that acknowledged it
        self.arriving = False
        self.draining = False  # agents accept every offer and complete at once
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._arrivals: set[asyncio.Task[None]] = set()
        self._count = 0

    async def register(self, agent_id: str, replica: Replica | None = None) -> None:
        """Log an agent in: its profile, then available."""
        body = {"name": agent_id, "queues": ["chat", "voice"]}
        put = await self.api.call(
            "register",
            "PUT",
            f"/v1/agents/{agent_id}",
            actor=agent_id,
            body=body,
            retries=2,
            replica=replica,
        )
        if put.status in (200, 201):
            await self._available(agent_id, retries=2, replica=replica)

    async def _available(
        self, agent_id: str, retries: int = 0, replica: Replica | None = None
    ) -> None:
        await self.api.call(
            "presence",
            "PUT",
            f"/v1/agents/{agent_id}/presence",
            actor=agent_id,
            body={"presence": "available"},
            retries=retries,
            replica=replica,
        )

    async def register_all(self) -> None:
        await asyncio.gather(*(self.register(a) for a in self.agent_ids))

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        self.arriving = True
        self._tasks.append(asyncio.create_task(self._arrive_steadily()))
        self._tasks += [asyncio.create_task(self._desk(a)) for a in self.agent_ids]

    async def stop_arrivals(self) -> None:
        self.arriving = False
        while self._arrivals:
            await asyncio.gather(*list(self._arrivals))

    async def stop(self) -> None:
        await self.stop_arrivals()
        self.stopping.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []

    async def _arrive_steadily(self) -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(self.settings.seed)
        next_at = loop.time()
        while self.arriving:
            self._count += 1
            channel = "voice" if rng.random() < self.settings.voice_share else "chat"
            task = asyncio.create_task(self._arrive(self._count, channel))
            self._arrivals.add(task)
            task.add_done_callback(self._arrivals.discard)
            next_at += 1 / self.settings.rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _arrive(self, n: int, channel: str) -> None:
        body = {"channel": channel, "external_id": f"{self.prefix}-{n}", "queue": channel}
        answer = await self.api.call("arrive", "POST", "/v1/contacts", body=body, retries=2)
        if answer.status in (200, 201) and isinstance(answer.body, dict) and "id" in answer.body:
            self.acked.setdefault(answer.body["id"], answer)

    async def _desk(self, agent_id: str) -> None:
        rng = random.Random(f"{self.settings.seed}-{agent_id}")
        loop = asyncio.get_running_loop()
        decided: set[str] = set()  # offer ids this agent has answered or chosen to ignore
        done_at: dict[str, float] = {}  # contact id -> when the agent will complete it
        while not self.stopping.is_set():
            started = loop.time()
            seen = await self.api.call("poll", "GET", f"/v1/agents/{agent_id}", actor=agent_id)
            if seen.status == 404:  # Redis lost the agent: log in again
                await self.register(agent_id)
            elif seen.status == 200 and isinstance(seen.body, dict):
                if seen.body.get("presence") not in ("available", "wrap_up"):
                    await self._available(agent_id)
                for item in seen.body.get("work", []):
                    await self._work_on(agent_id, item, rng, decided, done_at)
            await asyncio.sleep(max(0.0, started + self.settings.poll - loop.time()))

    async def _work_on(
        self,
        agent_id: str,
        item: dict[str, Any],
        rng: random.Random,
        decided: set[str],
        done_at: dict[str, float],
    ) -> None:
        contact_id, state = item.get("contact_id", ""), item.get("state")
        if state == "offered":
            offer_id = item.get("offer_id") or ""
            if offer_id in decided:
                return
            decided.add(offer_id)
            roll = 0.0 if self.draining else rng.random()
            s = self.settings
            verb = "accept" if roll < s.accept else "reject" if roll < s.accept + s.reject else ""
            if verb:
                await self.api.call(
                    verb,
                    "POST",
                    f"/v1/offers/{offer_id}/{verb}",
                    actor=agent_id,
                    body={"agent_id": agent_id},
                    retries=2,
                    ref={"contact": contact_id, "offer": offer_id},
                )
        elif state == "connected":
            now = time.monotonic()
            due = done_at.setdefault(contact_id, now + rng.uniform(*self.settings.hold))
            if now >= due or self.draining:
                done_at[contact_id] = now + 0.5  # if it fails, try again a little later
                await self.api.call(
                    "complete",
                    "POST",
                    f"/v1/contacts/{contact_id}/complete",
                    actor=agent_id,
                    body={"agent_id": agent_id, "disposition": "resolved", "notes": agent_id},
                    retries=2,
                    ref={"contact": contact_id},
                )


# -- the checker -----------------------------------------------------------------------------


class Replay:
    """The story the event stream tells, replayed in order: who holds which contact, what
    waits, each agent's presence; every step a contact could not have taken is a problem."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[str] = []
        self.holder: dict[str, tuple[str, str, str]] = {}  # contact -> (agent, offer, step)
        self.held: dict[str, dict[str, str]] = defaultdict(dict)  # agent -> contact -> channel
        self.waiting: dict[str, str] = {}  # contact -> channel
        self.state: dict[str, str] = {}  # contact -> its state as the stream tells
        self.presence: dict[str, str] = {}
        self.offers = 0

    def _problem(self, entry_id: str, text: str) -> None:
        self.problems.append(f"[{self.label} {when(entry_ms(entry_id) / 1000)}] {text}")

    def room(self, agent: str, channel: str) -> bool:
        channels = list(self.held[agent].values())
        if any(ch in EXCLUSIVE for ch in channels):
            return False
        if channel in EXCLUSIVE and channels:
            return False
        return channels.count(channel) < CAPACITY.get(channel, 0)

    def ready(self) -> bool:
        """A contact waits and an available agent has room for it: routing must happen."""
        for channel in set(self.waiting.values()):
            for agent, presence in self.presence.items():
                if presence == "available" and self.room(agent, channel):
                    return True
        return False

    def _held_as(
        self, entry_id: str, kind: str, contact: str, agent: str, offer: str, steps: Iterable[str]
    ) -> bool:
        held = self.holder.get(contact)
        if held is None or held[0] != agent or held[2] not in steps or (offer and held[1] != offer):
            self._problem(
                entry_id,
                f"{kind} of {contact} by {agent} (offer {offer or '-'}) while the stream "
                f"says it is {held or self.state.get(contact, 'unknown')}",
            )
            return False
        return True

    def _release(self, contact: str) -> None:
        held = self.holder.pop(contact, None)
        if held is not None:
            self.held[held[0]].pop(contact, None)

    def apply(self, entry_id: str, event: dict[str, str]) -> None:
        kind = event.get("type", "")
        contact, agent = event.get("contact", ""), event.get("agent", "")
        offer, channel = event.get("offer", ""), event.get("channel", "")
        if kind == "contact_queued":
            if contact in self.state:
                self._problem(
                    entry_id, f"{contact} queued again as new (was {self.state[contact]})"
                )
            self.waiting[contact] = channel
            self.state[contact] = "queued"
        elif kind == "contact_offered":
            self.offers += 1
            if contact in self.holder:
                self._problem(
                    entry_id,
                    f"double assignment: {contact} offered to {agent} ({offer}) while "
                    f"{self.holder[contact][0]} holds it ({self.holder[contact]})",
                )
            elif contact not in self.waiting:
                self._problem(
                    entry_id,
                    f"{contact} offered to {agent} while not waiting "
                    f"({self.state.get(contact, 'never queued')})",
                )
            if not self.room(agent, channel):
                self._problem(
                    entry_id,
                    f"capacity exceeded: {agent} offered {channel} {contact} while holding "
                    f"{sorted(self.held[agent].values())}",
                )
            self._release(contact)
            self.waiting.pop(contact, None)
            self.holder[contact] = (agent, offer, "offered")
            self.held[agent][contact] = channel
            self.state[contact] = "offered"
        elif kind == "contact_connected":
            if self._held_as(entry_id, "connection", contact, agent, offer, ["offered"]):
                self.holder[contact] = (agent, offer, "connected")
            self.state[contact] = "connected"
        elif kind in ("offer_rejected", "offer_timed_out", "offer_withdrawn"):
            self._held_as(entry_id, kind, contact, agent, offer, ["offered"])
            self._release(contact)
            self.waiting[contact] = channel
            self.state[contact] = "queued"
        elif kind == "contact_handled":
            if self._held_as(entry_id, "completion", contact, agent, "", ["connected"]):
                self.holder[contact] = (agent, self.holder[contact][1], "wrap_up")
            self.state[contact] = "wrap_up"
        elif kind == "contact_completed":
            self._held_as(entry_id, "end", contact, agent, "", ["wrap_up"])
            self._release(contact)
            self.state[contact] = "completed"
        elif kind == "contact_abandoned":
            self._release(contact)
            self.waiting.pop(contact, None)
            self.state[contact] = "abandoned"
        elif kind == "agent_created":
            self.presence.setdefault(agent, "offline")
        elif kind == "agent_presence":
            self.presence[agent] = event.get("presence", "")


def replay(history: Sequence[Entry], label: str) -> Replay:
    story = Replay(label)
    for entry_id, event in history:
        story.apply(entry_id, event)
    return story


def routing_resumed(
    history: Sequence[Entry], after: float, end: float, limit: float = RESUME_SECONDS
) -> tuple[list[str], float | None]:
    """Problems if, after `after`, a contact waited while an available agent had room for
    it for longer than `limit` with no offer made; and the time of the first offer."""
    story = Replay("resume")
    after_ms, limit_ms = int(after * 1000), int(limit * 1000)
    entries = list(history)
    i = 0
    while i < len(entries) and entry_ms(entries[i][0]) < after_ms:
        story.apply(*entries[i])
        i += 1
    ready_since = after_ms if story.ready() else None
    first = next(
        (entry_ms(e) / 1000 for e, f in entries[i:] if f.get("type") == "contact_offered"), None
    )
    stuck_at: int | None = None
    for entry_id, event in entries[i:]:
        at = entry_ms(entry_id)
        if ready_since is not None and at - ready_since > limit_ms:
            stuck_at = ready_since
            break
        if event.get("type") == "contact_offered":
            return [], first
        story.apply(entry_id, event)
        if not story.ready():
            ready_since = None
        elif ready_since is None:
            ready_since = at
    else:
        if ready_since is not None and int(end * 1000) - ready_since > limit_ms:
            stuck_at = ready_since
    if stuck_at is None:
        return [f"routing never resumed after {when(after)}: no contact_offered since"], first
    waiting = sorted(story.waiting.items())[:4]
    free = sorted(a for a, p in story.presence.items() if p == "available")[:4]
    then = f"+{first - stuck_at / 1000:.2f} s" if first else "never"
    return [
        f"routing did not resume within {limit} s: from {when(stuck_at / 1000)} contacts "
        f"waited ({waiting}...) while agents were available with room ({free}...); "
        f"the next offer came {then} (fault ended {when(after)})"
    ], first


@dataclass
class Check:
    """What a fault run is allowed: when Redis was away (503s expected), whether data was
    lost (and which acknowledged contacts may be missing), when faults ended."""

    down: list[tuple[float, float]] = field(default_factory=list)  # Redis unreachable
    unavailable: list[tuple[float, float]] = field(default_factory=list)  # 503s allowed
    lost_after: float | None = None  # contacts acknowledged after this may be missing
    lost_before: float | None = None  # contacts acknowledged before this were wiped
    data_loss_at: float | None = None  # Redis lost data at this time (404s may follow)
    resumed_after: list[float] = field(default_factory=list)
    resume_limit: float = RESUME_SECONDS
    first_offer_within: tuple[float, float] | None = None  # (after, seconds): routed again

    def __post_init__(self) -> None:
        self.unavailable = self.unavailable or list(self.down)


@dataclass
class Report:
    problems: list[str]
    stats: dict[str, Any]
    path: Path

    def text(self) -> str:
        counts = Counter(p.split(":", 1)[0][:60] for p in self.problems)
        lines = [f"{len(self.problems)} problem(s) in the fault run; stats {self.stats}"]
        lines += [f"  {n} x {kind}" for kind, n in counts.most_common(12)]
        lines += ["first problems:"] + [f"  - {p[:500]}" for p in self.problems[:25]]
        lines.append(f"all of it: {self.path}")
        return "\n".join(lines)


ALLOWED = {
    "arrive": {200, 201},
    "poll": {200},
    "register": {200, 201},
    "presence": {200},
    "accept": {200, 409},
    "reject": {200, 409},
    "complete": {200, 409},
}


def _overlaps(answer: Answer, windows: Sequence[tuple[float, float]], grace: float) -> bool:
    return any(answer.started <= end + grace and answer.ended >= start for start, end in windows)


def check_answers(answers: Sequence[Answer], check: Check) -> list[str]:
    """No 500, no hang, no 503 outside a fault (and a proper one inside), nothing unexpected;
    while Redis is away every call answers 503 quickly."""
    problems: list[str] = []
    for a in answers:
        if a.error:
            if not a.replica_down:
                problems.append(f"no answer (hang or dropped connection): {a.describe()}")
            continue
        allowed = set(ALLOWED.get(a.kind, {200}))
        if check.data_loss_at is not None and a.ended >= check.data_loss_at:
            allowed |= {404}  # what Redis forgot is unknown now; the desk logs in again
        if a.status == 503:
            if not _overlaps(a, check.unavailable, NORMAL_AGAIN_SECONDS):
                problems.append(f"503 while Redis was up: {a.describe()}")
            elif not a.content_type.startswith("application/problem+json") or not a.retry_after:
                problems.append(
                    f"503 without problem+json and Retry-After (content type "
                    f"{a.content_type!r}, Retry-After {a.retry_after!r}): {a.describe()}"
                )
            continue
        if a.status == 500:
            problems.append(f"500: {a.describe()}")
        elif a.status not in allowed:
            problems.append(f"unexpected {a.status}: {a.describe()}")
        elif a.status == 409 and not a.content_type.startswith("application/problem+json"):
            problems.append(f"409 not problem+json: {a.describe()}")
    for start, end in check.down:
        for a in answers:
            if start + 0.1 <= a.started <= end - FAULT_ANSWER_SECONDS - 0.1 and not a.error:
                limit = FAULT_ANSWER_SECONDS + MEASURE_SLACK
                if a.status != 503 or a.seconds > limit:
                    problems.append(
                        f"while Redis was away ({when(start)}..{when(end)}) an answer other "
                        f"than 503 within {FAULT_ANSWER_SECONDS} s: {a.describe()}"
                    )
    return problems


def _union(histories: Iterable[Sequence[Entry]]) -> list[Entry]:
    seen: dict[str, dict[str, str]] = {}
    for history in histories:
        for entry_id, event in history:
            seen.setdefault(entry_id, event)
    return sorted(seen.items(), key=lambda e: tuple(int(p) for p in e[0].split("-")))


def check_offers_and_desks(answers: Sequence[Answer], everything: Sequence[Entry]) -> list[str]:
    """Offer ids unique for ever; every answer and every desk names the acting agent's own
    contacts only, as the stream confirms."""
    problems: list[str] = []
    offered: dict[str, list[tuple[str, str]]] = defaultdict(list)  # offer -> [(agent, entry)]
    facts: set[tuple[str, str, str, str]] = set()
    for entry_id, event in everything:
        kind = event.get("type", "")
        if kind == "contact_offered":
            offered[event.get("offer", "")].append((event.get("agent", ""), entry_id))
        facts.add((kind, event.get("contact", ""), event.get("agent", ""), event.get("offer", "")))
    for offer, given in offered.items():
        if len(given) > 1:
            problems.append(
                f"offer id {offer} issued {len(given)} times: "
                + ", ".join(f"to {agent} at {when(entry_ms(e) / 1000)}" for agent, e in given)
            )
    connected_to = {(c, a) for k, c, a, _ in facts if k == "contact_connected"}
    handled_by = {(c, a) for k, c, a, _ in facts if k == "contact_handled"}
    for a in answers:
        if a.status != 200 or not isinstance(a.body, dict):
            continue
        body, actor = a.body, a.actor or ""
        contact, offer = a.ref.get("contact", ""), a.ref.get("offer", "")
        if a.kind == "accept":
            if body.get("agent_id") != actor or body.get("state") != "connected":
                problems.append(
                    f"accept answered 200 but not with the contact connected to the acting "
                    f"agent (agent_id {body.get('agent_id')!r}, state {body.get('state')!r}): "
                    f"{a.describe()}"
                )
            elif ("contact_connected", contact, actor, offer) not in facts:
                problems.append(f"200 accept, but the stream never connected it: {a.describe()}")
        elif a.kind == "reject":
            if body.get("id") != contact or (body.get("offer_id") or "") == offer:
                problems.append(f"reject answered 200 with another contact state: {a.describe()}")
            elif ("offer_rejected", contact, actor, offer) not in facts:
                problems.append(f"200 reject, but the stream never rejected it: {a.describe()}")
        elif a.kind == "complete":
            if body.get("agent_id") != actor or body.get("state") not in ("wrap_up", "completed"):
                problems.append(
                    f"complete answered 200 but not with the acting agent's finished contact "
                    f"(agent_id {body.get('agent_id')!r}, state {body.get('state')!r}): "
                    f"{a.describe()}"
                )
            elif (contact, actor) not in handled_by:
                problems.append(f"200 complete, but the stream never handled it: {a.describe()}")
        elif a.kind == "poll":
            for item in body.get("work", []):
                c, state = item.get("contact_id", ""), item.get("state")
                if state == "offered":
                    owners = {agent for agent, _ in offered.get(item.get("offer_id", ""), [])}
                    if owners != {actor}:
                        problems.append(
                            f"{actor}'s desk listed offer {item.get('offer_id')} of {c}, which "
                            f"the stream gave to {sorted(owners) or 'nobody'}: {a.describe()}"
                        )
                elif (c, actor) not in connected_to:
                    problems.append(
                        f"{actor}'s desk listed {c} as {state}, but the stream never "
                        f"connected it to {actor}: {a.describe()}"
                    )
    return problems


class Tally:
    """The numbers of a run, for the report (what was exercised)."""

    @staticmethod
    def of(answers: Sequence[Answer], history: Sequence[Entry]) -> dict[str, Any]:
        kinds = Counter(f"{a.kind}:{a.status or 'err'}" for a in answers if a.kind in ALLOWED)
        events = Counter(e.get("type", "") for _, e in history)
        return {
            "answers": dict(sorted(kinds.items())),
            "events": {k: events[k] for k in (
                "contact_queued", "contact_offered", "contact_connected", "offer_rejected",
                "offer_timed_out", "contact_completed",
            )},
        }  # fmt: skip


# -- a whole run -----------------------------------------------------------------------------


class FaultRun:
    """Redis, replicas, agents and customers for one test; `async with` ends them all."""

    def __init__(
        self,
        folder: Path,
        *,
        replicas: int = 2,
        api_only: int = 0,
        load: LoadSettings | None = None,
        tenant: str = "faults",
        routing_yaml: str = ROUTING_YAML,
    ) -> None:
        self.folder, self.tenant, self.routing_yaml = folder, tenant, routing_yaml
        self.routing_file = folder / "routing.yaml"
        self.redis = RedisProcess(folder / "redis")
        self.replicas = [
            Replica(folder, f"replica{i}", self.redis.url, tenant, self.routing_file)
            for i in range(replicas)
        ] + [
            Replica(folder, f"api{i}", self.redis.url, tenant, self.routing_file, router=False)
            for i in range(api_only)
        ]
        self.settings = load or LoadSettings()
        self.session: aiohttp.ClientSession | None = None
        self.tail = EventTail(self.redis.url, tenant)
        self.probes: list[Answer] = []
        self._api: Api | None = None
        self._load: Load | None = None

    @property
    def api(self) -> Api:
        assert self._api is not None
        return self._api

    @property
    def load(self) -> Load:
        assert self._load is not None
        return self._load

    async def __aenter__(self) -> FaultRun:
        self.routing_file.write_text(self.routing_yaml)
        await self.redis.start()
        for replica in self.replicas:
            replica.start()
        # no keep-alive: a connection to a replica that was killed is never reused
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), headers=bearer(tenant=self.tenant)
        )
        await asyncio.gather(*(r.wait_healthy(self.session) for r in self.replicas))
        self._api = Api(self.session, self.replicas, self.settings.seed)
        self._load = Load(self._api, self.settings, f"{self.tenant}-{int(time.time() * 1000)}")
        self.tail.start()
        await self.load.register_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._load is not None:
                await self._load.stop()
        finally:
            await self.tail.close()
            for replica in self.replicas:
                await replica.stop()
            if self.session is not None:
                await self.session.close()
            self.redis.stop()

    async def run_load(self, seconds: float) -> None:
        if not self.load.started:
            self.load.start()
        await asyncio.sleep(seconds)

    async def probe_while(self, until: float, period: float = 0.2) -> list[Answer]:
        """Until the time `until`: every `period`, /healthz and one /v1 read on each replica
        that is up, each sent at once (a slow answer never delays the next probe)."""
        paths = ["/v1/queues", "/v1/agents/agent00", "/v1/agents?limit=5"]
        sent: list[asyncio.Task[Answer]] = []
        n = 0
        while time.time() < until:
            for replica in self.replicas:
                if replica.up:
                    for kind, path in (("probe_health", "/healthz"), ("probe", paths[n % 3])):
                        call = self.api.call(kind, "GET", path, replica=replica, record=False)
                        sent.append(asyncio.create_task(call))
            n += 1
            await asyncio.sleep(period)
        probes = list(await asyncio.gather(*sent))
        self.probes += probes
        return probes

    async def drain(
        self, seconds: float = 25.0, skip: Callable[[Answer], bool] | None = None
    ) -> dict[str, str]:
        """No more arrivals; agents take everything. Waits until every acknowledged contact
        (but those `skip` says were lost) is completed, as Redis says; returns the others."""
        await self.load.stop_arrivals()
        self.load.draining = True
        client = Redis.from_url(self.redis.url, decode_responses=True, socket_timeout=5)
        pending = {c for c, a in self.load.acked.items() if not (skip and skip(a))}
        states: dict[str, str] = {}
        deadline = time.monotonic() + seconds
        try:
            while pending and time.monotonic() < deadline:
                ids = sorted(pending)
                async with client.pipeline(transaction=False) as pipe:
                    for contact in ids:
                        pipe.hget(contact_key(self.tenant, contact), "state")
                    answers = await pipe.execute()
                states = {c: s or "missing" for c, s in zip(ids, answers, strict=True)}
                pending = {c for c, s in states.items() if s != "completed"}
                if pending:
                    await asyncio.sleep(0.5)
        finally:
            await client.aclose()
        await self.load.stop()
        return {c: states.get(c, "?") for c in pending}

    async def history(self) -> list[Entry]:
        client = Redis.from_url(self.redis.url, decode_responses=True, socket_timeout=10)
        try:
            entries: list[Entry] = await client.xrange(events_key(self.tenant))
            return entries
        finally:
            await client.aclose()

    async def contact_states(self, contacts: Iterable[str]) -> dict[str, Answer]:
        """GET /v1/contacts/{id} of each, as a user reads them at the end."""
        limit = asyncio.Semaphore(16)

        async def one(contact: str) -> tuple[str, Answer]:
            async with limit:
                path = f"/v1/contacts/{contact}"
                return contact, await self.api.call("final", "GET", path, record=False)

        return dict(await asyncio.gather(*(one(c) for c in contacts)))

    async def check(
        self,
        check: Check,
        *,
        unfinished: dict[str, str] | None = None,
        earlier: Sequence[Sequence[Entry]] = (),
        extra: Sequence[str] = (),
    ) -> Report:
        """Everything the run must show. `earlier`: histories Redis lost (wiped or cut back),
        read from saved folders; the stream of Redis now is the last epoch."""
        final = await self.history()
        everything = _union([*earlier, final])
        answers = self.api.answers
        problems = list(extra)
        problems += check_answers(answers, check)
        for n, history in enumerate([*earlier, final]):
            label = "stream" if history is final else f"lost stream {n + 1}"
            problems += replay(history, label).problems
        problems += check_offers_and_desks(answers, everything)
        end = time.time()
        stats = Tally.of(answers, final)
        for after in check.resumed_after:
            found, first = routing_resumed(final, after, end, check.resume_limit)
            problems += found
            stats[f"first offer after {when(after)}"] = (
                f"+{first - after:.2f} s" if first else "none"
            )
        if check.first_offer_within is not None:
            after, seconds = check.first_offer_within
            offers = [entry_ms(i) / 1000 for i, e in final if e.get("type") == "contact_offered"]
            first_offer = min((t for t in offers if t >= after), default=None)
            if first_offer is None or first_offer > after + seconds:
                problems.append(
                    f"not routed again within {seconds} s of {when(after)}: first offer "
                    + (when(first_offer) if first_offer else "never")
                )
        # none lost: what the tail saw is still there (unless Redis was meant to lose it),
        # every acknowledged contact is in the stream and reads as the stream says
        if check.data_loss_at is None:
            final_ids = {entry_id for entry_id, _ in final}
            missing = [i for i in list(self.tail.entries) if i not in final_ids]
            if missing:
                problems.append(
                    f"events lost: {len(missing)} entries seen live are gone from the stream, "
                    f"e.g. {[(i, self.tail.entries[i]) for i in missing[:3]]}"
                )
        story = replay(final, "final")

        def may_be_lost(a: Answer) -> bool:
            late = check.lost_after is not None and a.ended >= check.lost_after
            early = check.lost_before is not None and a.ended < check.lost_before
            return late or early

        kept = {c: a for c, a in self.load.acked.items() if not may_be_lost(a)}
        read = await self.contact_states(kept)
        for contact, ack in kept.items():
            got = read[contact]
            if contact not in story.state:
                problems.append(f"acknowledged contact not in the stream: {ack.describe()}")
            elif got.status != 200 or not isinstance(got.body, dict):
                problems.append(f"acknowledged contact unreadable at the end: {got.describe()}")
            elif got.body.get("state") != story.state[contact]:
                problems.append(
                    f"{contact} reads {got.body.get('state')} but the stream says "
                    f"{story.state[contact]}"
                )
        for contact, state in sorted((unfinished or {}).items()):
            problems.append(
                f"never completed after the load: {contact} is {state} "
                f"(acknowledged {self.load.acked[contact].describe()})"
            )
        stats["acknowledged"] = len(self.load.acked)
        stats["checked"] = len(kept)
        path = self.folder / "fault-report.txt"
        path.write_text(
            json.dumps(stats, indent=1)
            + "\n"
            + "\n".join(problems)
            + "\n\nanswers:\n"
            + "\n".join(a.describe() for a in answers[-3000:])
        )
        report = Report(problems, stats, path)
        print(report.text())  # seen with -rA or -s; the numbers show what was exercised
        return report


def check_down_probes(
    probes: Sequence[Answer], start: float, end: float, redis_says: Sequence[str]
) -> list[str]:
    """While Redis was away (start..end), every probe answered 503 within 1.5 s: /healthz
    with JSON {"status": "unhealthy", "redis": one of `redis_says`}, a /v1 call as
    problem+json with Retry-After."""
    problems = []
    inside = [p for p in probes if start + 0.1 <= p.started <= end - FAULT_ANSWER_SECONDS - 0.1]
    if not inside:
        problems.append(f"no probe ran while Redis was away ({when(start)}..{when(end)})")
    for p in inside:
        body = p.body if isinstance(p.body, dict) else {}
        if p.error or p.status != 503 or p.seconds > FAULT_ANSWER_SECONDS + MEASURE_SLACK:
            problems.append(f"while Redis was away, not a 503 within 1.5 s: {p.describe()}")
        elif p.kind == "probe_health":
            if body.get("status") != "unhealthy" or body.get("redis") not in redis_says:
                problems.append(f"/healthz while Redis was away said: {p.describe()}")
        elif not p.content_type.startswith("application/problem+json") or not p.retry_after:
            problems.append(f"503 without problem+json and Retry-After: {p.describe()}")
    return problems
