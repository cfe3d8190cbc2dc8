"""A callback's outcome from the agent who called back: no answer or busy tries it again
after the queue's delay, in the same place, up to the queue's attempts; reached or invalid
is noted and the agent completes it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.domain.roles import Role
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.store.callbacks import CallbackRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer

RULES = RoutingConfig.model_validate(
    {"queues": {"billing": {"channels": ["voice", "chat"],
                            "callback": {"retry_delay_seconds": 120, "max_attempts": 2}}}}
)  # fmt: skip
NUMBER = {"number": "+442079460010"}


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(RULES)
    agent = {"name": "Ann", "queues": ["billing"], "capacity": {"voice": 1}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    return api


async def _contact(api: TestClient, contact_id: str) -> dict[str, Any]:
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def _call(api: TestClient, external_id: str, clock: ManualClock) -> str:
    answer = await api.post(
        "/v1/contacts", json={"channel": "voice", "external_id": external_id, "queue": "billing"}
    )
    assert answer.status == 201
    clock.advance(1)
    return str((await answer.json())["id"])


async def _connected(api: TestClient, contact_id: str) -> None:
    await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await _contact(api, contact_id))["offer_id"]
    assert offer, await _contact(api, contact_id)
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200


async def _outcome(api: TestClient, contact_id: str, outcome: str) -> Any:
    return await api.post(
        f"/v1/contacts/{contact_id}/callback/outcome",
        json={"agent_id": "ann", "outcome": outcome},
        headers=bearer(Role.AGENT, "ann"),
    )


async def test_no_answer_is_tried_again_after_the_delay_in_its_place(
    api: TestClient, clock: ManualClock
) -> None:
    ctx = api.server.app[SERVICES].ctx
    callback = await _call(api, "CA-1", clock)
    later = await _call(api, "CA-2", clock)
    assert (await api.post(f"/v1/contacts/{callback}/callback", json=NUMBER)).status == 201
    score = await ctx.redis.zscore(ctx.keys.queue_waiting("billing"), callback)
    await _connected(api, callback)
    answer = await _outcome(api, callback, "no_answer")
    assert answer.status == 200
    assert (await answer.json())["scheduled"] is True
    scheduled = await _contact(api, callback)
    assert scheduled["state"] == "scheduled" and scheduled["callback_attempts"] == 1
    assert (await (await api.get("/v1/agents/ann")).json())["work"] == []  # Ann is free
    figures = {q["name"]: q for q in await (await api.get("/v1/queues")).json()}
    assert figures["billing"]["callbacks_scheduled"] == 1
    assert await CallbackRepository(ctx).release_due() == 0  # not yet due
    clock.advance(121)
    assert await CallbackRepository(ctx).release_due() == 1
    back = await _contact(api, callback)
    assert back["state"] == "queued" and back["position"] == 1  # ahead of the later call
    assert await ctx.redis.zscore(ctx.keys.queue_waiting("billing"), callback) == score
    assert (await _contact(api, later))["position"] == 2


async def test_the_last_attempt_and_a_reached_customer_are_noted_and_stay_the_agents(
    api: TestClient, clock: ManualClock
) -> None:
    ctx = api.server.app[SERVICES].ctx
    callback = await _call(api, "CA-3", clock)
    await api.post(f"/v1/contacts/{callback}/callback", json=NUMBER)
    await _connected(api, callback)
    assert (await (await _outcome(api, callback, "busy")).json())["scheduled"] is True
    clock.advance(121)
    await CallbackRepository(ctx).release_due()
    await _connected(api, callback)
    last = await _outcome(api, callback, "no_answer")
    assert (await last.json()) == {"scheduled": False, "attempts": 2, "due_at": None}
    held = await _contact(api, callback)
    assert held["state"] == "connected" and held["callback_outcome"] == "no_answer"
    done = await api.post(
        f"/v1/contacts/{callback}/complete", json={"agent_id": "ann", "disposition": "no_answer"}
    )
    assert done.status == 200


async def test_an_outcome_is_refused_for_a_call_that_is_no_callback_or_anothers(
    api: TestClient, clock: ManualClock
) -> None:
    plain = await _call(api, "CA-4", clock)
    await _connected(api, plain)
    refused = await _outcome(api, plain, "reached")
    assert refused.status == 409 and (await refused.json())["reason"] == "not_a_callback"
    bob = await api.post(
        f"/v1/contacts/{plain}/callback/outcome",
        json={"agent_id": "ann", "outcome": "reached"},
        headers=bearer(Role.AGENT, "bob"),
    )
    assert bob.status == 403
    bad = await _outcome(api, plain, "maybe")
    assert bad.status == 422


async def test_a_scheduled_callback_can_still_be_cancelled(
    api: TestClient, clock: ManualClock
) -> None:
    ctx = api.server.app[SERVICES].ctx
    callback = await _call(api, "CA-5", clock)
    await api.post(f"/v1/contacts/{callback}/callback", json=NUMBER)
    await _connected(api, callback)
    await _outcome(api, callback, "no_answer")
    cancelled = await api.delete(f"/v1/contacts/{callback}")
    assert cancelled.status == 200 and (await cancelled.json())["state"] == "abandoned"
    assert await ctx.redis.zcard(ctx.keys.callbacks_due) == 0
    clock.advance(300)
    assert await CallbackRepository(ctx).release_due() == 0
