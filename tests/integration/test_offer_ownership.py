"""Only the agent an offer rings for can answer it, only the holder can complete, a retry of
an answer that succeeded answers the same, and no offer id is ever issued twice."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.errors import Conflict
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from ccaas.store.offers import OfferRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump


async def _offered_to_q(ctx: StoreContext, external_id: str = "x") -> tuple[str, str]:
    """A support chat ringing for q (p is there too, away); its contact and offer ids."""
    desk = Desk(ctx)
    for agent_id in ("p", "q"):
        await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, {}, ["support"]))
    await desk.set_presence("q", Presence.AVAILABLE)
    contact_id = (
        await Ingest(ctx).enqueue(NewContact(Channel.CHAT, external_id, "support"))
    ).contact_id
    (result,) = await Router(ctx).route_once()
    assert result.offer_id and result.planned.agent_id == "q"
    return contact_id, result.offer_id


async def test_another_agent_cannot_answer_or_complete_and_changes_nothing(
    ctx: StoreContext, redis: Redis
) -> None:
    contact_id, offer_id = await _offered_to_q(ctx)
    desk, offers, contacts = Desk(ctx), OfferRepository(ctx), ContactRepository(ctx)
    await desk.set_presence("p", Presence.AVAILABLE)
    before = await dump(redis)
    for attempt in (desk.accept(offer_id, "p"), offers.reject(offer_id, "p")):
        with pytest.raises(Conflict, match="not ringing for agent 'p'"):
            await attempt
    assert await dump(redis) == before

    await desk.accept(offer_id, "q")
    before = await dump(redis)
    with pytest.raises(Conflict, match="not connected to agent 'p'"):
        await contacts.complete(contact_id, "p", "follow_up", "p's notes")
    with pytest.raises(Conflict):
        await desk.accept(offer_id, "p")
    assert await dump(redis) == before
    assert (await contacts.complete(contact_id, "q", "resolved")).state == "wrap_up"


async def test_a_retried_answer_that_succeeded_answers_the_same_and_changes_nothing(
    ctx: StoreContext, redis: Redis
) -> None:
    contact_id, offer_id = await _offered_to_q(ctx)
    desk, offers, contacts = Desk(ctx), OfferRepository(ctx), ContactRepository(ctx)
    await offers.reject(offer_id, "q")
    after_reject = await dump(redis)
    assert await offers.reject(offer_id, "q") == contact_id
    assert await dump(redis) == after_reject

    (result,) = await Router(ctx).route_once()  # q again: it is the only agent
    assert result.offer_id and result.offer_id != offer_id
    await desk.accept(result.offer_id, "q")
    after_accept = await dump(redis)
    await desk.accept(result.offer_id, "q")
    assert await dump(redis) == after_accept
    with pytest.raises(Conflict):  # the first offer ended with a rejection, not this
        await desk.accept(offer_id, "q")

    assert (await contacts.complete(contact_id, "q", "resolved", "notes")).state == "wrap_up"
    after_complete = await dump(redis)
    assert (await contacts.complete(contact_id, "q", "resolved", "notes")).state == "wrap_up"
    assert await dump(redis) == after_complete
    with pytest.raises(Conflict):  # a different completion is not a retry
        await contacts.complete(contact_id, "q", "other", "notes")
    assert await dump(redis) == after_complete


async def test_offer_ids_are_not_issued_again_after_redis_lost_its_last_writes(
    ctx: StoreContext, redis: Redis, clock: ManualClock
) -> None:
    contact_id, first = await _offered_to_q(ctx)
    key = ctx.keys.contact(contact_id)
    await OfferRepository(ctx).reject(first, "q")
    # as if the AOF lost the offer: the contact waits again with its counter rolled back
    await redis.hset(key, "offer_count", 0)
    clock.advance(1)
    (again,) = await Router(ctx).route_once()
    assert again.offer_id is not None
    assert again.offer_id != first and again.offer_id.split(".")[:2] == first.split(".")[:2]
    with pytest.raises(Conflict):  # q's stale answer to the lost offer does not take the new
        await Desk(ctx).accept(first, "q")
    assert (await redis.hget(key, "state")) == "offered"


async def test_a_retried_reject_does_not_show_the_next_agents_offer(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api()
    ctx = api.app[SERVICES].ctx
    contact_id, offer_id = await _offered_to_q(ctx)
    assert (await api.post(f"/v1/offers/{offer_id}/reject", json={"agent_id": "q"})).status == 200
    await Desk(ctx).set_presence("q", Presence.AWAY, "break")
    await Desk(ctx).set_presence("p", Presence.AVAILABLE)
    clock.advance(1)
    (next_offer,) = await Router(ctx).route_once()
    assert next_offer.planned.agent_id == "p" and next_offer.offer_id
    again = await api.post(f"/v1/offers/{offer_id}/reject", json={"agent_id": "q"})
    assert again.status == 200
    seen = await again.json()
    assert seen["id"] == contact_id and seen["state"] == "offered"
    assert next_offer.offer_id not in str(seen) and "agent_id" not in seen


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/v1/agents/q:work", {"name": "evil"}),
        ("get", "/v1/agents/q:work", None),
        ("post", "/v1/offers/{contact}:body.1/accept", {"agent_id": "p"}),
        ("post", "/v1/offers/{contact}.1/accept", {"agent_id": "q:work"}),
        ("get", "/v1/contacts/{contact}:body", None),
        ("post", "/v1/contacts/{contact}:body/complete", {"agent_id": "p"}),
        ("get", "/v1/customers/{{x}}", None),
    ],
)
async def test_an_id_naming_another_key_is_refused_and_changes_nothing(
    make_api: MakeApi, redis: Redis, method: str, path: str, body: object
) -> None:
    api = await make_api()
    ctx = api.app[SERVICES].ctx
    contact_id, _ = await _offered_to_q(ctx)
    await ContactRepository(ctx).attach_body(contact_id, "the transcript", "transcript")
    before = await dump(redis)
    response = await api.request(method, path.format(contact=contact_id), json=body)
    assert response.status in (404, 422), await response.text()
    assert response.content_type == "application/problem+json"
    assert await dump(redis) == before


async def test_a_completion_retried_after_the_customer_was_erased_answers_the_same(
    ctx: StoreContext, redis: Redis
) -> None:
    desk, contacts = Desk(ctx), ContactRepository(ctx)
    for agent_id in ("p", "q"):
        await AgentRepository(ctx).upsert(agent_id, AgentProfile(agent_id, {}, ["support"]))
    await desk.set_presence("q", Presence.AVAILABLE)
    arrival = NewContact(Channel.CHAT, "x", "support", customer={"email": "jo@example.com"})
    contact_id = (await Ingest(ctx).enqueue(arrival)).contact_id
    (offer,) = await Router(ctx).route_once()
    assert offer.offer_id
    await desk.accept(offer.offer_id, "q")
    assert (
        await contacts.complete(contact_id, "q", "resolved", "jo's card number")
    ).state == "wrap_up"
    customer_id = (await contacts.raw(contact_id))["customer_id"]
    await CustomerRepository(ctx).erase(customer_id)
    after_erasure = await dump(redis)
    again = await contacts.complete(contact_id, "q", "resolved", "jo's card number")
    assert (again.state, again.notes_discarded) == ("wrap_up", True)
    assert await dump(redis) == after_erasure  # the notes are not written back


@pytest.mark.parametrize("verb", ["accept", "reject"])
async def test_an_offer_never_made_is_not_found_and_an_ended_one_is_a_conflict(
    make_api: MakeApi, redis: Redis, verb: str
) -> None:
    api = await make_api()
    ctx = api.app[SERVICES].ctx
    contact_id, offer_id = await _offered_to_q(ctx)
    token = offer_id.rsplit(".", 1)[1]
    never_made = [
        f"{contact_id}.7.{token}",
        f"{contact_id}.1.{'0' * len(token)}",
        f"{contact_id}.0.{token}",  # attempts count from 1
        f"{contact_id}.000.{token}",
    ]
    before = await dump(redis)
    for unknown in never_made:
        response = await api.post(f"/v1/offers/{unknown}/{verb}", json={"agent_id": "q"})
        assert response.status == 404, unknown
        assert (await response.json())["type"] == "/v1/problems/not-found"
    assert await dump(redis) == before

    assert (await api.post(f"/v1/offers/{offer_id}/reject", json={"agent_id": "q"})).status == 200
    ended = await api.post(f"/v1/offers/{offer_id}/accept", json={"agent_id": "q"})
    assert ended.status == 409  # it was made, and it ended
