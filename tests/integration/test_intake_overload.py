"""Overload on the HTTP intake: beyond CCAAS_INTAKE_MAX_IN_FLIGHT new contacts under way, a new
one is answered 429 with Retry-After at once, stores nothing, and intake_busy says so."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from structlog.testing import capture_logs

from ccaas.domain.clock import ManualClock
from ccaas.web.intake_window import INTAKE
from tests.helpers import MakeApi, dump, settled

JSON = {"Content-Type": "application/json"}


class HeldArrivals:
    """POSTs of new contacts whose bodies stop halfway until `finish()`: requests really
    under way on the server (the body is read inside the window), held without any timing."""

    def __init__(self, api: TestClient) -> None:
        self.api, self.go_on = api, asyncio.Event()
        self.posts: list[asyncio.Task[ClientResponse]] = []

    async def _body(self, external_id: str) -> AsyncIterator[bytes]:
        yield b'{"channel": "chat", "queue": "billing", '
        await self.go_on.wait()
        yield f'"external_id": "{external_id}"}}'.encode()

    async def start(self, *external_ids: str) -> None:
        for external_id in external_ids:
            body = self._body(external_id)
            post = self.api.post("/v1/contacts", data=body, headers=JSON)
            self.posts.append(asyncio.ensure_future(post))
        window = self.api.app[INTAKE].window
        # each reaches the handler and waits for its body; the window's count says when
        async with asyncio.timeout(5):
            while window.in_flight < len(self.posts):  # noqa: ASYNC110 (it has no event)
                await asyncio.sleep(0.005)

    async def finish(self) -> list[int]:
        self.go_on.set()
        return [response.status for response in await asyncio.gather(*self.posts)]


@contextlib.asynccontextmanager
async def held_arrivals(api: TestClient, *external_ids: str) -> AsyncIterator[HeldArrivals]:
    """HeldArrivals under way; however the test ends, their bodies are finished and their
    answers awaited, so none is left pending when the server stops."""
    held = HeldArrivals(api)
    try:
        await held.start(*external_ids)
        yield held
    finally:
        held.go_on.set()
        await asyncio.gather(*held.posts, return_exceptions=True)


async def _post(api: TestClient, external_id: str) -> ClientResponse:
    contact = {"channel": "chat", "queue": "billing", "external_id": external_id}
    return await api.post("/v1/contacts", json=contact)


async def test_beyond_the_window_a_contact_is_refused_with_429_and_nothing_stored(
    make_api: MakeApi, redis: Redis
) -> None:
    api = await make_api(intake_max_in_flight=2)
    await settled(api)
    async with held_arrivals(api, "web-1", "web-2") as held:
        before = await dump(redis)
        refused = await _post(api, "web-3")
        assert refused.status == 429
        problem: dict[str, Any] = await refused.json()
        assert await dump(redis) == before  # no contact, no event, no external id
        assert await held.finish() == [201, 201]  # those under way were not disturbed

    assert refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert problem["type"] == "/v1/problems/intake-busy" and problem["status"] == 429
    assert problem["limit"] == 2 and "CCAAS_INTAKE_MAX_IN_FLIGHT=2" in problem["detail"]
    described = await (await api.get(problem["type"])).json()
    assert described["status"] == 429 and described["title"] == problem["title"]
    assert (await (await api.get("/v1/queues/billing")).json())["waiting"] == 2
    # their places are free again, also after a refused body; web-3 was never stored
    assert (await api.post("/v1/contacts", json={"channel": "fax"})).status == 422
    assert (await _post(api, "web-3")).status == 201
    assert (await _post(api, "web-4")).status == 201


async def test_intake_busy_is_logged_at_most_once_a_second_with_the_count(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api(intake_max_in_flight=1)
    await settled(api)
    async with held_arrivals(api, "web-1") as held:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            statuses = [(await _post(api, f"over-{n}")).status for n in range(3)]
            clock.advance(1.0)
            statuses.append((await _post(api, "over-3")).status)
        assert await held.finish() == [201]
    assert statuses == [429] * 4
    busy = [event for event in logs if event["event"] == "intake_busy"]
    assert [(e["log_level"], e["refused"], e["limit"]) for e in busy] == [
        ("warning", 1, 1),
        ("warning", 3, 1),  # the two held back within the second, and this one
    ]
    assert all(e["tenant"] == "t1" for e in busy)
