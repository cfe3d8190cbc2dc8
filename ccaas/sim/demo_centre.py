"""The demo centre's life: customers arriving on every channel and demo agents who answer.

It acts only through the services the API uses (Ingest, Desk, the contact and queue
repositories), on the engine's clock, so a test with a manual clock runs hours in seconds.
Only the agents it is given are played; any other agent (the README tour's) is left alone,
and the arrivals ask for skills every played agent has and the tour agent does not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from structlog.contextvars import bound_contextvars

from ..desk.service import Desk
from ..domain.intake import NewContact
from ..domain.models import Channel, ContactState
from ..errors import CcaasError
from ..ingest.service import Ingest
from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.queues import QueueRepository
from ..store.records.agent import AgentRecord

log = structlog.get_logger("ccaas.sim")
DEFAULT_DISPOSITION = "resolved"
_FIELDS = ("agent_id", "state", "offer_id", "queue")
CATCH_UP_MS = 60_000


@dataclass(frozen=True, slots=True)
class Pace:
    """How busy the demo is; seconds are on the engine's clock."""

    arrival_every_seconds: float = 8.0  # mean gap between two arrivals (all channels)
    answer_after_seconds: tuple[float, float] = (2.0, 6.0)  # below every offer timeout
    handle_seconds: tuple[float, float] = (20.0, 120.0)
    patience_seconds: float = 600.0  # a demo customer waiting this long hangs up
    max_waiting: int = 12  # no arrival while this many contacts wait in all queues
    tick_seconds: float = 0.5  # real seconds between two steps of `run`


@dataclass(slots=True)
class _Played:
    """What the simulator has decided for one contact ringing or connected at an agent."""

    agent_id: str
    due_ms: int  # when to answer (offered) or to complete (connected)
    state: str


@dataclass(slots=True)
class Tally:
    """What the simulator did, for logs and tests."""

    arrived: int = 0
    skipped: int = 0  # arrivals not sent because the queues were long
    refused: int = 0  # arrivals the rules refused (closed queue with nowhere to go, full)
    accepted: int = 0
    completed: int = 0
    abandoned: int = 0


@dataclass
class DemoCentre:
    ctx: StoreContext
    agent_ids: Sequence[str]
    templates: Sequence[NewContact]  # the seed contacts, one or more per channel
    pace: Pace = field(default_factory=Pace)
    seed: int | None = None
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.ingest, self.desk = Ingest(self.ctx), Desk(self.ctx)
        self.contacts, self.queues = ContactRepository(self.ctx), QueueRepository(self.ctx)
        self.agents = AgentRepository(self.ctx)
        self.by_channel: dict[Channel, list[NewContact]] = {}
        for template in self.templates:
            self.by_channel.setdefault(template.channel, []).append(template)
        self.run_id = secrets.token_hex(3)  # external ids stay new across restarts
        self.played: dict[str, _Played] = {}  # contact id -> the agent's next move
        self.waiting: dict[str, int] = {}  # contact id the simulator sent -> arrival (ms)
        self.next_arrival_ms = self.ctx.clock.now_ms()
        self.sent = 0

    async def run(self) -> None:
        """Step until cancelled (the engine's supervised duty)."""
        log.info(
            "demo_simulator_started", agents=len(self.agent_ids), **dataclasses.asdict(self.pace)
        )
        while True:
            await self.step()
            await asyncio.sleep(self.pace.tick_seconds)

    async def step(self) -> None:
        """Everything due at the clock's now: arrivals, answers, completions, hang-ups."""
        now = self.ctx.clock.now_ms()
        # after a pause (Redis was away, the duty restarted) arrivals resume, not catch up
        self.next_arrival_ms = max(self.next_arrival_ms, now - CATCH_UP_MS)
        while self.by_channel and self.next_arrival_ms <= now:
            gap = self.random.expovariate(1 / self.pace.arrival_every_seconds)
            self.next_arrival_ms += max(int(gap * 1000), 1)
            await self._arrive()
        await self._play_agents(now)
        await self._hang_up(now)

    async def _arrive(self) -> None:
        backlog = sum((await self.queues.waiting_counts()).values())
        if backlog >= self.pace.max_waiting:
            self.tally.skipped += 1
            return
        channel = self.random.choice(sorted(self.by_channel))
        template = self.random.choice(self.by_channel[channel])
        self.sent += 1
        contact = dataclasses.replace(template, external_id=f"sim-{self.run_id}-{self.sent}")
        try:
            done = await self.ingest.enqueue(contact)
        except CcaasError as exc:
            self.tally.refused += 1
            log.info("demo_arrival_refused", external_id=contact.external_id, problem=exc.detail)
            return
        self.tally.arrived += 1
        self.waiting[done.contact_id] = self.ctx.clock.now_ms()

    async def _play_agents(self, now: int) -> None:
        """Each played agent's next move on each contact it holds, when due."""
        held = [
            (agent_id, item)
            for raw, work in await self.agents.read_many(self.agent_ids)
            if raw
            for agent_id in [raw["id"]]
            for item in AgentRecord.decode(raw, work).work
            if item.state in (ContactState.OFFERED, ContactState.CONNECTED)
        ]  # a wrap-up ends on the engine's own timer
        rows = await self.contacts.fields_of([i.contact_id for _, i in held], _FIELDS)
        seen: set[str] = set()
        for (agent_id, item), row in zip(held, rows, strict=True):
            contact_id, state = item.contact_id, item.state.value
            seen.add(contact_id)
            self.waiting.pop(contact_id, None)
            fields = dict(zip(_FIELDS, row, strict=True))
            if fields["agent_id"] != agent_id or fields["state"] != state:
                continue  # it moved between the two reads
            plan = self.played.get(contact_id)
            if plan is None or plan.agent_id != agent_id or plan.state != state:
                plan = self.played[contact_id] = self._plan(agent_id, state, now)
            if plan.due_ms <= now:
                with bound_contextvars(contact_id=contact_id, agent_id=agent_id):
                    await self._act(contact_id, fields, plan)
        for gone in set(self.played) - seen:
            del self.played[gone]

    def _plan(self, agent_id: str, state: str, now: int) -> _Played:
        low, high = (
            self.pace.answer_after_seconds if state == "offered" else self.pace.handle_seconds
        )
        return _Played(agent_id, now + int(self.random.uniform(low, high) * 1000), state)

    async def _act(self, contact_id: str, fields: dict[str, str | None], plan: _Played) -> None:
        try:
            if plan.state == "offered":
                await self.desk.accept(fields["offer_id"] or "", plan.agent_id)
                self.tally.accepted += 1
            else:
                disposition = self._disposition(fields["queue"] or "")
                await self.contacts.complete(contact_id, plan.agent_id, disposition)
                self.tally.completed += 1
        except CcaasError as exc:  # it moved meanwhile (abandoned): the next step sees it
            log.info("demo_move_refused", move=plan.state, problem=exc.detail)
        self.played.pop(contact_id, None)

    def _disposition(self, queue: str) -> str:
        """A code the queue accepts when it lists some (`wrap_up_codes`), else "resolved"."""
        spec = self.ctx.config.queues.get(queue)
        codes = getattr(spec, "wrap_up_codes", None) or [DEFAULT_DISPOSITION]
        return str(self.random.choice(list(codes)))

    async def _hang_up(self, now: int) -> None:
        patience = int(self.pace.patience_seconds * 1000)
        for contact_id, since in list(self.waiting.items()):
            if now - since < patience:
                continue
            del self.waiting[contact_id]
            try:
                await self.contacts.abandon(contact_id)
                self.tally.abandoned += 1
            except CcaasError:
                pass  # answered or gone meanwhile
