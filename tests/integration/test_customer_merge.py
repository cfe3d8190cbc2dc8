"""Merging customers: order-independent in its result, no identity lost, no entry twice."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.identity import identity
from ccaas.domain.models import Presence
from ccaas.router.service import Router
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.client import connect
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from tests.helpers import TEST_CONFIG, MakeApi

PHONES = [f"020 7946 00{n:02d}" for n in range(10)]
EMAILS = [f"p{n}@example.com" for n in range(10)]
FIELDS = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["Jo", "Sam"]), "tier": st.sampled_from(["gold", "x"])}
)
SIDE = st.tuples(
    st.sets(st.sampled_from(PHONES), min_size=1, max_size=3),
    st.sets(st.sampled_from(EMAILS), max_size=3),
    FIELDS,
    st.sets(st.integers(0, 6), max_size=4),  # contacts on the timeline (shared ids overlap)
)


async def _merged(url: str, a: Any, b: Any, a_into_b: bool) -> tuple[Any, ...]:
    redis = connect(url)
    await redis.flushdb()
    clock = ManualClock()
    ctx = StoreContext.create(redis, "m", TEST_CONFIG, clock)
    repo = CustomerRepository(ctx)
    ids = []
    for phones, emails, fields, contacts in (a, b):
        found = [identity("phone", p, "GB") for p in phones]
        found += [identity("email", e, "GB") for e in emails]
        resolved = await repo.resolve(found)
        clock.advance(1)
        await repo.update(resolved.customer_id, fields)
        for n in contacts:
            await redis.zadd(ctx.keys.customer_timeline(resolved.customer_id), {f"c{n}": n})
        ids.append(resolved.customer_id)
    into, source = (ids[1], ids[0]) if a_into_b else (ids[0], ids[1])
    if into == source:  # the two sides share an identity: resolve made them one already
        merged = await repo.get(into)
    else:
        merged = await repo.merge(into, source)
    timeline = await redis.zrange(ctx.keys.customer_timeline(into), 0, -1, withscores=True)
    index = await redis.hgetall(ctx.keys.identities)
    await redis.aclose()
    profile = {k: v for k, v in merged.items() if k not in ("id", "merged_from")}
    return profile, timeline, set(index.values()) == {into}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=SIDE, b=SIDE)
def test_merging_either_way_gives_one_customer_with_everything_once(
    redis_server: EmbeddedRedis, a: Any, b: Any
) -> None:
    loop = asyncio.new_event_loop()
    try:
        one = loop.run_until_complete(_merged(redis_server.url, a, b, a_into_b=True))
        other = loop.run_until_complete(_merged(redis_server.url, a, b, a_into_b=False))
    finally:
        loop.close()
    assert one == other
    profile, timeline, all_identities_point_at_the_survivor = one
    assert all_identities_point_at_the_survivor
    expected = {f"phone:{identity('phone', p, 'GB').value}" for p in a[0] | b[0]}
    expected |= {f"email:{e}" for e in a[1] | b[1]}
    assert {f"{i['kind']}:{i['value']}" for i in profile["identities"]} == expected
    assert [member for member, _ in timeline] == sorted(
        {f"c{n}" for n in a[3] | b[3]}, key=lambda m: int(m[1:])
    )


async def _served_by(
    api: TestClient, ctx: StoreContext, agent_id: str, external_id: str, phone: str
) -> str:
    """A call from `phone` that `agent_id` (the only agent available) takes; its customer."""
    desk = Desk(ctx)
    for other in ("ann", "zoe"):
        await desk.set_presence(other, Presence.AVAILABLE if other == agent_id else Presence.AWAY)
    response = await api.post(
        "/v1/contacts",
        json={"channel": "voice", "queue": "billing", "external_id": external_id,
              "customer": {"phone": phone}},
    )  # fmt: skip
    created = await response.json()
    (offer,) = [r for r in await Router(ctx).route_once() if r.offer_id]
    assert offer.offer_id is not None and offer.planned.agent_id == agent_id
    await desk.accept(offer.offer_id, agent_id)
    await ContactRepository(ctx).complete(created["id"], agent_id, "resolved", "")
    return str(created["customer_id"])


async def test_a_merge_keeps_the_agent_of_the_most_recent_contact(
    make_api: MakeApi, ctx: StoreContext, clock: ManualClock
) -> None:
    api = await make_api(TEST_CONFIG)
    agents = AgentRepository(ctx)
    for agent_id in ("ann", "zoe"):
        await agents.upsert(agent_id, AgentProfile(agent_id, queues=["billing"]))
    older = await _served_by(api, ctx, "ann", "call-1", "020 7946 0001")
    clock.advance(60)
    newer = await _served_by(api, ctx, "zoe", "call-2", "020 7946 0002")
    clock.advance(60)
    # the customer whose last contact is older is the one updated last
    patched = await api.patch(f"/v1/customers/{older}", json={"name": "Jo"})
    assert patched.status == 200
    merged = await api.post(f"/v1/customers/{older}/merge", json={"from": newer})
    assert merged.status == 200, await merged.text()
    customer = await (await api.get(f"/v1/customers/{older}")).json()
    assert (customer["name"], customer["last_agent"]) == ("Jo", "zoe")
