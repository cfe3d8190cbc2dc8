"""Twilio voice when the agent's phone does not answer, and odd callers."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi
from tests.twilio_caller import AUTH_TOKEN, BASE, PUBLIC_URL, Twilio, call, said

INCOMING = f"{BASE}/incoming?queue=billing"


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(public_url=PUBLIC_URL, twilio_auth_token=AUTH_TOKEN)


@pytest.fixture
def twilio(api: TestClient, clock: ManualClock) -> Twilio:
    return Twilio(api, clock=clock)


async def test_an_odd_caller_name_cannot_break_the_twiml(api: TestClient, twilio: Twilio) -> None:
    odd = call("CA90", "+442079460090", CallerName="</Say><Dial>+19005550000</Dial>&\"'<x")
    root = await twilio.twiml(INCOMING, odd)
    assert root.find("Enqueue") is not None and root.find("Dial") is None


async def test_the_agents_phone_not_answering_does_not_silently_drop_the_caller(
    api: TestClient, twilio: Twilio
) -> None:
    """The agent accepted in the console, the caller is dialled through, the agent's SIP
    phone does not answer (DialCallStatus=no-answer): `dialled` ignores why the leg ended and
    answers a bare <Hangup/>: the caller is cut off without a word, no callback is kept."""
    agent = {"name": "Ann", "queues": ["billing"], "voice_endpoint": "sip:ann@pbx.example.com"}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    root = await twilio.twiml(INCOMING, call("CA91"))
    wait = str(root.find("Enqueue").get("waitUrl"))  # type: ignore[union-attr]
    contact_id = wait.split("contact=")[1]
    await Router(api.server.app[SERVICES].ctx).route_once()
    offer = (await (await api.get(f"/v1/contacts/{contact_id}")).json())["offer_id"]
    assert (await api.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"})).status == 200
    dial = (await twilio.twiml(f"{BASE}/dequeued?contact={contact_id}",
                               call("CA91", QueueResult="leave"))).find("Dial")  # fmt: skip
    assert dial is not None
    action = str(dial.get("action"))
    after: ElementTree.Element = await twilio.twiml(
        action, call("CA91", CallStatus="in-progress", DialCallStatus="no-answer")
    )
    assert said(after) or after.find("Enqueue") is not None, (
        "the caller is hung up on without a word: " + ElementTree.tostring(after).decode()
    )
    held = await (await api.get(f"/v1/contacts/{contact_id}")).json()
    assert held["state"] == "queued"  # it waits again, in its place, for the next agent
    assert (await (await api.get("/v1/agents/ann")).json())["work"] == []
