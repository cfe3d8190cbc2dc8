"""One router replica: plans offers from a snapshot and commits them through the claim script.

Any number of replicas may run against one Redis: a claim re-checks everything atomically,
so a replica that planned from a stale snapshot is refused, never double-assigns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
from dataclasses import dataclass

import structlog

from ..domain.policy import plan_round
from ..store.client import is_outage, next_message
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.offers import CLAIMS_PER_CALL, ClaimResult, OfferRepository
from ..store.router_state import RouterState
from ..supervise import raise_if_cancelled, supervise
from .relaxer import Relaxer

log = structlog.get_logger("ccaas.router")
CLAIMS_IN_FLIGHT = 10  # claim batches of a round sent and not yet answered, at the most


@dataclass(frozen=True, slots=True)
class RouterSettings:
    # per round: a round commits batch after batch (each short for Redis) and reads what
    # changed only between rounds, so a long backlog drains with few reads; an arrival meanwhile
    # waits for the round to end (a third of a second at the most on 2 cores)
    most_offers: int = 4000
    safety_tick_seconds: float = 1.0
    timer_tick_seconds: float = 0.1
    relax_tick_seconds: float = 1.0


class Router:
    def __init__(self, ctx: StoreContext, settings: RouterSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or RouterSettings()
        self.state = RouterState(ctx)
        self.relaxer = Relaxer(ctx)
        self.offers = OfferRepository(ctx)
        self.contacts = ContactRepository(ctx)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self._arrivals: list[str] = []  # wake-up messages since the last round began
        # the last round offered all it could and left nothing unannounced: no round follows
        # until a wake-up (or the safety tick)
        self.settled = False
        self._cut_short = False  # the last plan stopped at most_offers
        self._generation = ctx.health.generation
        ctx.health.listeners.append(self.wake)  # Redis is back: route at once

    def _renew_if_redis_was_renewed(self) -> None:
        """Redis came back (it may have lost its last writes) or was set up again: nothing
        read before is trusted; every agent and contact is read afresh."""
        if self._generation != self.ctx.health.generation:
            self._generation = self.ctx.health.generation
            self.state.reset()
            self.relaxer.reader.reset()

    async def route_once(self, arrival: str | None = None) -> list[ClaimResult]:
        """One matching round over everything waiting; returns the claims it tried.

        `arrival` is the wake-up message that started the round: when it carries a new
        contact and nothing else changed, the round routes it without reading Redis first.
        """
        self._renew_if_redis_was_renewed()
        self.settled = False
        try:
            results: list[ClaimResult] = []
            unannounced = False  # changes came that no wake-up will announce
            if arrival is not None and self.state.take_arrival(arrival):
                # the wake-up flag is cleared with the commit, as a read would have
                results = await self._plan_and_claim(clear_wake=True)
                unannounced = self.state.missed_since_arrival(results)
            if not any(result.offer_id for result in results):
                unannounced = False  # the read clears the flag with what it reads
                # refused on what changed since the wake-up (whose flag is cleared now, so
                # nothing else would wake this router): read the changes and plan again
                self.state.apply_claims(results)
                if await self.state.refresh():
                    gc.freeze()  # the snapshot read lives on: full collections skip it
                results = await self._plan_and_claim()
        except BaseException:
            # offers planned but never answered: what this router keeps is no longer known
            self.state.reset()
            raise
        self.state.apply_claims(results)
        made = sum(1 for result in results if result.offer_id)
        # after progress, a round follows at once if there may be more to offer: the plan
        # stopped at its limit, some claims were refused (retried on a fresh read), or
        # changes came unannounced; without progress, only if the read left changes unread
        if made == 0:
            self.settled = not self.state.more
        else:
            everything = made == len(results) and not self._cut_short
            self.settled = everything and not unannounced and not self.state.more
        for result in results:
            if result.offer_id:
                log.info(
                    "contact_offered",
                    contact_id=result.planned.contact_id,
                    agent_id=result.planned.agent_id,
                    queue=result.planned.queue,
                    channel=result.planned.channel.value,
                    offer_id=result.offer_id,
                )
            else:
                log.debug(
                    "claim_refused",
                    contact_id=result.planned.contact_id,
                    agent_id=result.planned.agent_id,
                    reason=result.refused,
                )
        return results

    async def _plan_and_claim(self, clear_wake: bool = False) -> list[ClaimResult]:
        """Plan the round a batch of offers at a time and send each batch's claim at once, so
        Redis commits one batch while the next is planned; at most CLAIMS_IN_FLIGHT batches
        wait for their answer at a time (each holds a connection)."""
        rules = self.state.rules  # one version for the whole round; the claim checks it
        claims: list[asyncio.Future[list[ClaimResult]]] = []
        planned = 0
        self._cut_short = False
        try:
            while planned < self.settings.most_offers:
                now = self.ctx.clock.now_ms()
                batch = plan_round(
                    self.state.backlog, self.state.pools, now, most_offers=CLAIMS_PER_CALL
                )
                if not batch:
                    break
                planned += len(batch)
                self._cut_short = planned >= self.settings.most_offers
                if not claims and len(batch) < CLAIMS_PER_CALL:
                    # the whole round in one batch (an arrival, most often): commit it directly
                    return await self.offers.claim_many(
                        batch, self.state.pools.agents, self.name, rules, now, clear_wake
                    )
                waiting = [claim for claim in claims if not claim.done()]
                if len(waiting) >= CLAIMS_IN_FLIGHT:
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                claims.append(
                    asyncio.ensure_future(
                        self.offers.claim_many(
                            batch, self.state.pools.agents, self.name, rules, now, clear_wake
                        )
                    )
                )
                clear_wake = False
                await asyncio.sleep(0)  # let the batch go out before planning the next
            answered = await asyncio.gather(*claims)
        finally:
            for claim in claims:
                claim.cancel()  # none is left running on its own after a failure
        return [result for batch_results in answered for result in batch_results]

    async def timers_once(self, relax: bool = True) -> int:
        """Ring out due offers, end due wrap-ups and (if `relax`) apply due relaxation steps."""
        changed = await self.offers.expire_due() + await self.contacts.end_due_wrap_ups()
        return changed + (len(await self.relaxer.relax_once()) if relax else 0)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Run until cancelled: the wake listener, the matching loop and the timer loop."""
        async with asyncio.TaskGroup() as group:
            group.create_task(supervise("wake_listener", self._listen, expected=is_outage))
            group.create_task(supervise("matcher", self._match_loop, expected=is_outage))
            group.create_task(supervise("timers", self._timer_loop, expected=is_outage))

    async def _listen(self) -> None:
        pubsub = self.ctx.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.ctx.keys.wake_channel)
            self.wake()  # anything that arrived before we listened
            while True:
                message = await next_message(pubsub, self.settings.safety_tick_seconds)
                if message is not None:
                    self._arrivals.append(str(message.get("data", "")))
                    self.wake()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _match_loop(self) -> None:
        while True:
            raise_if_cancelled()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can drop a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.safety_tick_seconds):
                    await self._wake.wait()
            self._wake.clear()
            arrivals, self._arrivals = self._arrivals, []
            # one new contact since the last round may be routed from its wake-up alone
            results = await self.route_once(arrivals[0] if len(arrivals) == 1 else None)
            refresh = self.ctx.holder.refresh
            if refresh is not None and any(r.refused == "rules_changed" for r in results):
                await refresh()  # newer rules are in force: catch up before the next round
            if not self.settled:
                self.wake()  # more to offer, or changes no wake-up will announce
            # a round that made no progress is not followed at once either (see route_once):
            # it waits for a wake-up or the safety tick, so a claim that keeps being refused
            # can never become a busy loop

    async def _timer_loop(self) -> None:
        loop, last_relax = asyncio.get_running_loop(), 0.0
        while True:
            relax = loop.time() - last_relax >= self.settings.relax_tick_seconds
            if relax:
                last_relax = loop.time()
            await self.timers_once(relax)
            raise_if_cancelled()
            await asyncio.sleep(self.settings.timer_tick_seconds)
