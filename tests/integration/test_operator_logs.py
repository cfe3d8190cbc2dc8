"""What an operator reads in the log: one INFO event per offer, accept, reject, ring-out,
automatic "no answer" away and refused contact, each naming the contact, agent and queue."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.errors import ContactRejected, InvalidInput
from ccaas.ingest.service import Ingest
from ccaas.router.service import Router
from ccaas.store.agents import AgentProfile, AgentRepository
from ccaas.store.context import StoreContext
from ccaas.store.offers import OfferRepository


def _events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    found = [e for e in logs if e["event"] == name]
    assert all(e["log_level"] == "info" for e in found), found
    return found


async def _one_offer(ctx: StoreContext, external_id: str) -> tuple[str, str]:
    contact = await Ingest(ctx).enqueue(NewContact(Channel.VOICE, external_id, "billing"))
    [offer] = [r for r in await Router(ctx).route_once() if r.offer_id]
    assert offer.offer_id is not None and offer.planned.contact_id == contact.contact_id
    return contact.contact_id, offer.offer_id


@pytest.fixture
async def ann(ctx: StoreContext) -> str:
    await AgentRepository(ctx).upsert("ann", AgentProfile("Ann", queues=["billing"]))
    await Desk(ctx).set_presence("ann", Presence.AVAILABLE)
    return "ann"


async def test_an_offer_and_its_accept_are_logged(ctx: StoreContext, ann: str) -> None:
    with capture_logs() as logs:
        contact_id, offer_id = await _one_offer(ctx, "call-1")
        await Desk(ctx).accept(offer_id, ann)
    ids = {"contact_id": contact_id, "agent_id": ann, "queue": "billing", "offer_id": offer_id}
    [offered] = _events(logs, "contact_offered")
    assert offered.items() >= ids.items() and offered["channel"] == "voice"
    [accepted] = _events(logs, "offer_accepted")
    assert accepted.items() >= ids.items()


async def test_a_reject_is_logged(ctx: StoreContext, ann: str) -> None:
    contact_id, offer_id = await _one_offer(ctx, "call-1")
    with capture_logs() as logs:
        await OfferRepository(ctx).reject(offer_id, ann)
        await OfferRepository(ctx).reject(offer_id, ann)  # again: nothing happens, no line
    [rejected] = _events(logs, "offer_rejected")
    assert (
        rejected.items() >= {"contact_id": contact_id, "agent_id": ann, "queue": "billing"}.items()
    )


async def test_ring_outs_and_the_no_answer_away_they_cause_are_logged(
    ctx: StoreContext, clock: ManualClock, ann: str
) -> None:
    router = Router(ctx)
    await Ingest(ctx).enqueue(NewContact(Channel.VOICE, "call-1", "billing"))
    with capture_logs() as logs:
        for _ in range(2):  # max_missed_offers is 2
            await router.route_once()
            clock.advance(21)  # billing rings for 20 s
            await router.timers_once()
    timed_out = _events(logs, "offer_timed_out")
    assert [e["agent_id"] for e in timed_out] == [ann, ann]
    assert all(e["queue"] == "billing" and e["contact_id"] for e in timed_out)
    [away] = _events(logs, "agent_set_away")
    assert away["agent_id"] == ann and away["reason"] == "no answer"


async def test_a_contact_the_rules_refuse_is_logged_with_the_reason(
    redis: Redis, clock: ManualClock
) -> None:
    tiny = RoutingConfig.model_validate({"queues": {"tiny": {"channels": ["chat"], "max_size": 1}}})
    ingest = Ingest(StoreContext.create(redis, "t1", tiny, clock))
    await ingest.enqueue(NewContact(Channel.CHAT, "chat-1", "tiny"))
    with capture_logs() as logs, pytest.raises(ContactRejected):
        await ingest.enqueue(NewContact(Channel.CHAT, "chat-2", "tiny"))
    [refused] = _events(logs, "contact_refused")
    assert refused["status"] == 409 and refused["reason"] == "full"
    assert refused["queue"] == "tiny" and refused["external_id"] == "chat-2"


async def test_a_contact_with_bad_input_is_logged_with_the_field(ctx: StoreContext) -> None:
    with capture_logs() as logs, pytest.raises(InvalidInput):
        await Ingest(ctx).enqueue(NewContact(Channel.SOCIAL, "post-1", "billing"))
    [refused] = _events(logs, "contact_refused")
    assert refused["status"] == 422 and refused["field"] == "channel"
    assert refused["external_id"] == "post-1" and "billing" in refused["problem"]
