"""Voice through Twilio's webhooks, from Twilio's side: a signed call is queued and hears its
place, a forged one is refused, the caller hanging up abandons it, an accepted call is put
through to the agent, and pressing 1 keeps the place as a callback."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.desk.cards import Cards
from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.twilio_caller import AUTH_TOKEN, BASE, PUBLIC_URL, Twilio, call, said

INCOMING = f"{BASE}/incoming?queue=billing"


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(public_url=PUBLIC_URL, twilio_auth_token=AUTH_TOKEN)


@pytest.fixture
def twilio(api: TestClient, clock: ManualClock) -> Twilio:
    return Twilio(api, clock=clock)  # a second passes after each call: arrivals are ordered


async def _contact_of(api: TestClient, sid: str) -> dict[str, Any]:
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.external_ids, f"voice:{sid}")
    assert contact_id, f"call {sid} was not queued"
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def _wait_url(twilio: Twilio, sid: str, caller: str = "+442079460001") -> str:
    root = await twilio.twiml(INCOMING, call(sid, caller))
    enqueue = root.find("Enqueue")
    assert enqueue is not None, root
    assert enqueue.get("waitUrl", "").startswith(f"{PUBLIC_URL}{BASE}/wait?contact=")
    return str(enqueue.get("waitUrl"))


async def test_a_signed_call_is_queued_and_hears_its_place(api: TestClient, twilio: Twilio) -> None:
    first_wait = await _wait_url(twilio, "CA01")
    second_wait = await _wait_url(twilio, "CA02", "+442079460002")
    contact = await _contact_of(api, "CA02")
    assert (contact["channel"], contact["queue"], contact["state"]) == (
        "voice",
        "billing",
        "queued",
    )
    assert contact["attributes"]["caller_id"] == "+442079460002"
    customer = await (await api.get(f"/v1/customers/{contact['customer_id']}")).json()
    assert {"kind": "phone", "value": "+442079460002"} in customer["identities"]
    heard = said(await twilio.twiml(second_wait, call("CA02", QueueTime="0")))
    assert "You are 2nd in the queue." in heard and "press 1" in heard
    assert "You are next in the queue." in said(await twilio.twiml(first_wait, call("CA01")))
    again = await twilio.twiml(INCOMING, call("CA02", "+442079460002"))  # Twilio retried
    assert again.find("Enqueue") is not None
    assert (await _contact_of(api, "CA02"))["id"] == contact["id"]


async def test_a_forged_or_unsigned_call_is_refused_and_stores_nothing(
    api: TestClient, twilio: Twilio
) -> None:
    redis = api.server.app[SERVICES].ctx.redis
    await api.get("/healthz")
    before = await dump(redis)
    forged = await twilio.post(INCOMING, call("CA03"), signature="0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert forged.status == 401
    assert (await forged.json())["reason"] == "bad_signature"
    assert (await twilio.post(INCOMING, call("CA03"), signature="")).status == 401
    other_account = Twilio(api, token="another-account")
    assert (await other_account.post(INCOMING, call("CA03"))).status == 401
    signed_for = await twilio.post(f"{BASE}/incoming?queue=sales", call("CA03"), signature=None)
    assert signed_for.status == 200  # signed, so taken: the query is part of what is signed
    assert await dump(redis) != before
    moved = await api.post(
        INCOMING,
        data=call("CA04"),
        headers={
            "X-Twilio-Signature": (await _signature_for(f"{BASE}/incoming?queue=sales", "CA04"))
        },
    )
    assert moved.status == 401  # a signature for another URL (another queue) does not carry over


async def _signature_for(path: str, sid: str) -> str:
    from ccaas.channels.twilio_signature import twilio_signature

    return twilio_signature(AUTH_TOKEN, PUBLIC_URL + path, call(sid).items())


async def test_without_a_token_the_webhooks_say_they_are_not_configured(make_api: MakeApi) -> None:
    api = await make_api()
    answer = await Twilio(api).post(INCOMING, call("CA05"))
    assert answer.status == 503
    assert (await answer.json())["type"].endswith("/channel-not-configured")


@pytest.mark.parametrize(
    "caller", ["anonymous", "+266696687", "", "Restricted", "+44 20 ABC", "12"]
)
async def test_a_withheld_or_odd_caller_id_is_still_queued(
    api: TestClient, twilio: Twilio, caller: str
) -> None:
    await _wait_url(twilio, "CA06", caller)
    contact = await _contact_of(api, "CA06")
    assert contact["state"] == "queued"


async def test_the_caller_hanging_up_while_waiting_abandons_the_call(
    api: TestClient, twilio: Twilio
) -> None:
    await _wait_url(twilio, "CA07")
    ended = await twilio.post(f"{BASE}/status", call("CA07", CallStatus="completed"))
    assert ended.status == 204
    assert (await _contact_of(api, "CA07"))["state"] == "abandoned"
    again = await twilio.post(f"{BASE}/status", call("CA07", CallStatus="completed"))
    assert again.status == 204  # the second status callback changes nothing


async def _agent_with_phone(api: TestClient, endpoint: str = "sip:ann@pbx.example.com") -> None:
    agent = {"name": "Ann", "queues": ["billing"], "voice_endpoint": endpoint}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    available = await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    assert available.status == 200


async def test_an_accepted_call_is_put_through_to_the_agents_phone(
    api: TestClient, twilio: Twilio
) -> None:
    await _agent_with_phone(api)
    wait = await _wait_url(twilio, "CA08")
    contact = await _contact_of(api, "CA08")
    await Router(api.server.app[SERVICES].ctx).route_once()
    ringing = await twilio.twiml(wait, call("CA08", QueueTime="12"))
    assert ringing.find("Leave") is None  # the agent has not answered yet
    offer = (await _contact_of(api, "CA08"))["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    assert (await twilio.twiml(wait, call("CA08", QueueTime="15"))).find("Leave") is not None
    action = f"{BASE}/dequeued?contact={contact['id']}"
    dial = (await twilio.twiml(action, call("CA08", QueueResult="leave"))).find("Dial")
    assert dial is not None and dial.findtext("Sip") == "sip:ann@pbx.example.com"
    hung_up = await twilio.post(f"{BASE}/status", call("CA08", CallStatus="completed"))
    assert hung_up.status == 204
    held = await _contact_of(api, "CA08")
    assert held["state"] == "connected" and held["customer_left_at"]  # still Ann's to complete


async def test_an_invalid_voice_endpoint_is_refused(api: TestClient) -> None:
    bad = {"name": "Ann", "voice_endpoint": "<Hangup/>"}
    answer = await api.put("/v1/agents/ann", json=bad)
    assert answer.status == 422
    assert (await answer.json())["errors"][0]["field"] == "voice_endpoint"


async def test_pressing_1_keeps_the_place_and_a_second_request_returns_the_first(
    api: TestClient, twilio: Twilio
) -> None:
    ctx = api.server.app[SERVICES].ctx
    await _wait_url(twilio, "CA09", "+442079460009")
    wait = await _wait_url(twilio, "CA10", "+442079460010")
    await _wait_url(twilio, "CA11", "+442079460011")
    contact = await _contact_of(api, "CA10")
    waiting = ctx.keys.queue_waiting("billing")
    before = await ctx.redis.zrange(waiting, 0, -1, withscores=True)
    caller = "+442079460010"
    gather_url = (await twilio.twiml(wait, call("CA10", caller, QueueTime="0"))).find("Gather")
    assert gather_url is not None
    pressed = await twilio.twiml(str(gather_url.get("action")), call("CA10", caller, Digits="1"))
    assert "call you back" in said(pressed) and pressed.find("Hangup") is not None
    left = await twilio.post(f"{BASE}/status", call("CA10", caller, CallStatus="completed"))
    assert left.status == 204
    kept = await _contact_of(api, "CA10")
    assert kept["state"] == "queued" and kept["callback_number"] == "+442079460010"
    assert kept["position"] == 2
    assert await ctx.redis.zrange(waiting, 0, -1, withscores=True) == before  # same place
    # the same number calls again and presses 1: the first callback is the one kept
    again_wait = await _wait_url(twilio, "CA12", "+442079460010")
    again_contact = await _contact_of(api, "CA12")
    gather = (await twilio.twiml(again_wait, call("CA12", "+442079460010"))).find("Gather")
    assert gather is not None
    await twilio.twiml(str(gather.get("action")), call("CA12", "+442079460010", Digits="1"))
    assert "callback_number" not in await _contact_of(api, "CA12")
    by_api = await api.post(
        f"/v1/contacts/{again_contact['id']}/callback", json={"number": "020 7946 0010"}
    )
    assert by_api.status == 200 and (await by_api.json())["id"] == contact["id"]
    stats = {q["name"]: q for q in await (await api.get("/v1/queues")).json()}
    assert stats["billing"]["callbacks_waiting"] == 1


async def test_the_agent_offered_a_callback_sees_the_number(
    api: TestClient, twilio: Twilio
) -> None:
    await _agent_with_phone(api)
    ctx = api.server.app[SERVICES].ctx
    await api.put("/v1/agents/ann/presence", json={"presence": "away"})
    wait = await _wait_url(twilio, "CA13", "+442079460013")
    gather = (await twilio.twiml(wait, call("CA13", "+442079460013"))).find("Gather")
    assert gather is not None
    await twilio.twiml(str(gather.get("action")), call("CA13", "+442079460013", Digits="1"))
    await api.put("/v1/agents/ann/presence", json={"presence": "available"})
    await Router(ctx).route_once()
    contact = await _contact_of(api, "CA13")
    assert contact["state"] == "offered"
    card = await Cards(Desk(ctx)).card(contact["id"])
    assert card is not None and card["callback"]["number"] == "+442079460013"


async def test_a_callback_asked_over_http_needs_a_real_number(
    api: TestClient, twilio: Twilio
) -> None:
    await _wait_url(twilio, "CA14")
    contact = await _contact_of(api, "CA14")
    bad = await api.post(f"/v1/contacts/{contact['id']}/callback", json={"number": "call me"})
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "number"
    ok = await api.post(f"/v1/contacts/{contact['id']}/callback", json={"number": "+442079460014"})
    assert ok.status == 201 and (await ok.json())["callback_number"] == "+442079460014"
