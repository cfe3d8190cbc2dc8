"""The agent's websocket: a snapshot first, then the agent's own events as frames, commands
answered by ack or error, a resume that misses nothing, one session per agent, and presence
that follows the console."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError

from ccaas.desk.sessions import SessionReaper
from ccaas.domain.clock import ManualClock
from ccaas.domain.roles import Role
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.router.service import Router
from ccaas.store.contacts import ContactRepository
from ccaas.store.offers import OfferRepository
from ccaas.web.services import SERVICES
from tests.helpers import TEST_CONFIG, MakeApi, bearer, dump, post_contact_from, token

ADMIN = bearer()
NO_TOKEN = {"Authorization": ""}  # the test client sends an admin's token unless told
WAIT = 5.0


async def _agent(api: TestClient, agent_id: str, presence: str = "offline") -> None:
    profile = {"name": agent_id, "queues": ["billing"]}
    assert (await api.put(f"/v1/agents/{agent_id}", json=profile, headers=ADMIN)).ok
    body = {"presence": presence}
    assert (await api.put(f"/v1/agents/{agent_id}/presence", json=body, headers=ADMIN)).ok


async def _connect(api: TestClient, agent_id: str, **query: str) -> ClientWebSocketResponse:
    params = {"access_token": token(Role.AGENT, agent_id), **query}
    return await api.ws_connect("/v1/agent/ws", params=params, headers=NO_TOKEN)


_SEEN: dict[ClientWebSocketResponse, list[dict[str, Any]]] = {}  # frames read, not yet used


async def _frame(socket: ClientWebSocketResponse) -> dict[str, Any]:
    seen = _SEEN.setdefault(socket, [])
    return seen.pop(0) if seen else await socket.receive_json()


async def _next(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of `kind` (frames of other kinds before it are skipped)."""
    async with asyncio.timeout(WAIT):
        while True:
            frame = await _frame(socket)
            if frame["type"] == kind:
                return frame


async def _command(socket: ClientWebSocketResponse, **command: Any) -> dict[str, Any]:
    """Send a command and wait for its ack or error; frames that come first are kept for
    _next, in order."""
    await socket.send_json(command)
    kept: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT):
        while True:
            frame = await _frame(socket)
            if frame["type"] in ("ack", "error") and frame.get("id") == command["id"]:
                _SEEN[socket] = kept + _SEEN.get(socket, [])
                return frame
            kept.append(frame)


async def _route(api: TestClient) -> None:
    await Router(api.server.app[SERVICES].ctx).route_once()


async def _desk(
    api: TestClient, agent_id: str, presence: str = "available"
) -> ClientWebSocketResponse:
    """A new agent's console (the agent in that presence), its snapshot read."""
    await _agent(api, agent_id, presence)
    socket = await _connect(api, agent_id)
    await _next(socket, "snapshot")
    return socket


async def _ringing_for_ann(api: TestClient) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    """Ann available with her console open, and a chat's offer ringing for her: the socket
    and the offer frame."""
    socket = await _desk(api, "ann")
    await post_contact_from(api, "chat-1", {"email": "jo@example.com"})
    await _route(api)
    return socket, await _next(socket, "offer")


async def test_who_may_open_the_socket(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    assert (await api.get("/v1/agent/ws", headers=NO_TOKEN)).status == 401
    supervisor = await api.get("/v1/agent/ws", headers=bearer(Role.SUPERVISOR, "sue"))
    assert supervisor.status == 403
    zed = {"access_token": token(Role.AGENT, "zed")}
    nobody = await api.get("/v1/agent/ws", params=zed, headers=NO_TOKEN)
    assert nobody.status == 404
    bad_seq = await api.get(
        "/v1/agent/ws",
        params={"access_token": token(Role.AGENT, "ann"), "last_seq": "x"},
        headers=NO_TOKEN,
    )
    assert bad_seq.status == 422


async def test_an_offer_rings_is_accepted_and_the_conversation_flows(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    socket = await _connect(api, "ann")
    snapshot = await _next(socket, "snapshot")
    assert snapshot["agent"]["presence"] == "offline"
    assert (snapshot["offers"], snapshot["work"]) == ([], [])
    ack = await _command(socket, id="1", type="presence", presence="available")
    assert ack["type"] == "ack"
    assert (await _next(socket, "presence"))["presence"] == "available"
    contact = await post_contact_from(api, "chat-1", {"email": "jo@example.com"})
    await _route(api)
    offer = await _next(socket, "offer")
    assert offer["contact_id"] == contact["id"]
    assert offer["remaining_ms"] > 0 and offer["deadline"] > 0 and offer["seq"]
    identities = offer["card"]["customer"]["identities"]
    assert identities == [{"kind": "email", "value": "jo@example.com"}]
    accepted = await _command(socket, id="2", type="accept", offer_id=offer["offer_id"])
    assert accepted == {"type": "ack", "id": "2", "result": {"contact_id": contact["id"]}}
    ended = await _next(socket, "offer_ended")
    assert (ended["offer_id"], ended["reason"]) == (offer["offer_id"], "accepted")
    connected = await _next(socket, "connected")
    assert connected["card"]["state"] == "connected"
    adapter = bearer(Role.ADAPTER, "widget")
    said = await api.post(
        f"/v1/contacts/{contact['id']}/messages", json={"text": "hello?"}, headers=adapter
    )
    assert said.status == 201
    assert (await _next(socket, "message"))["message"]["text"] == "hello?"
    reply = await _command(socket, id="3", type="message", contact_id=contact["id"], text="hi!")
    assert reply["type"] == "ack"
    mine = await _next(socket, "message")
    assert (mine["message"]["from"], mine["message"]["text"]) == ("agent", "hi!")
    done = await _command(socket, id="4", type="complete", contact_id=contact["id"],
                          disposition="")  # fmt: skip
    assert done["type"] == "ack", done
    assert (await _next(socket, "wrap_up_ended"))["contact_id"] == contact["id"]
    await socket.close()


async def test_bad_commands_get_an_error_with_their_id_and_change_nothing(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket = await _desk(api, "ann", "offline")
    unknown = await _command(socket, id="a", type="dance")
    assert unknown["problem"]["status"] == 422
    assert unknown["problem"]["errors"][0]["field"] == "type"
    missing = await _command(socket, id="b", type="accept")
    assert missing["problem"]["errors"][0]["field"] == "offer_id"
    no_offer = await _command(socket, id="c", type="accept", offer_id="nobody.1.ab")
    assert no_offer["problem"]["status"] == 404
    await socket.send_str("not json")
    assert (await _next(socket, "error"))["problem"]["errors"][0]["field"] == "frame"
    agent = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert agent["presence"] == "offline"
    await socket.close()


async def test_a_console_that_comes_back_gets_what_it_missed(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    socket = await _connect(api, "ann")
    snapshot = await _next(socket, "snapshot")
    await socket.close()
    away = {"presence": "away", "reason": "break"}
    assert (await api.put("/v1/agents/ann/presence", json=away, headers=ADMIN)).ok
    again = await _connect(api, "ann", last_seq=snapshot["seq"])
    missed = await _next(again, "presence")
    assert (missed["presence"], missed["reason"]) == ("away", "break")
    resumed = await _next(again, "resumed")
    assert resumed["seq"] == missed["seq"]
    await again.close()
    # a seq the stream no longer holds gets a fresh snapshot
    lost = await _connect(api, "ann", last_seq="1-0")
    assert (await lost.receive_json())["type"] in ("snapshot", "presence", "resumed")
    await lost.close()


async def test_a_second_sign_in_replaces_the_first(make_api: MakeApi) -> None:
    api = await make_api()
    first = await _desk(api, "ann", "offline")
    second = await _connect(api, "ann")
    await _next(second, "snapshot")
    assert (await _next(first, "session_replaced"))["type"] == "session_replaced"
    closing = await first.receive()
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4001), closing
    assert (await _command(second, id="p", type="ping"))["type"] == "ack"
    await second.close()


async def test_an_agent_whose_console_is_gone_goes_offline_after_the_grace(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api(disconnect_grace_seconds=30)
    ctx = api.server.app[SERVICES].ctx
    socket, offer = await _ringing_for_ann(api)
    await socket.close()
    await asyncio.sleep(0.1)  # the server sees the close
    reaper = SessionReaper(ctx)
    clock.advance(29)
    assert await reaper.reap() == []
    clock.advance(2)
    assert await reaper.reap() == ["ann"]
    agent = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert agent["presence"] == "offline" and agent["work"] == []
    contact = await (await api.get(f"/v1/contacts/{offer['contact_id']}", headers=ADMIN)).json()
    assert contact["state"] == "queued"  # withdrawn, waiting in its place
    back = await _connect(api, "ann")
    snapshot = await _next(back, "snapshot")
    assert snapshot["agent"]["presence"] == "offline"
    await back.close()


async def test_a_console_that_comes_back_within_the_grace_stays_signed_in(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api(disconnect_grace_seconds=30)
    socket = await _desk(api, "ann")
    await socket.close()
    await asyncio.sleep(0.1)
    clock.advance(20)
    back = await _connect(api, "ann")
    await _next(back, "snapshot")
    clock.advance(20)
    assert await SessionReaper(api.server.app[SERVICES].ctx).reap() == []
    agent = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert agent["presence"] == "available"
    await back.close()


@pytest.mark.parametrize("replicas", [2])
async def test_agents_on_two_replicas_get_only_their_own_offers(
    make_api: MakeApi, replicas: int
) -> None:
    one = await make_api()
    two = await make_api()
    await _agent(one, "ann", "available")
    await _agent(one, "bob", "available")
    ann, bob = await _connect(one, "ann"), await _connect(two, "bob")
    await _next(ann, "snapshot")
    await _next(bob, "snapshot")
    for n in range(4):
        await post_contact_from(one, f"chat-{n}", {"email": f"c{n}@example.com"})
    await _route(one)
    agents = {
        name: await (await one.get(f"/v1/agents/{name}", headers=ADMIN)).json()
        for name in ("ann", "bob")
    }
    seen: dict[str, set[str]] = {}
    for name, socket in (("ann", ann), ("bob", bob)):
        offered = {w["contact_id"] for w in agents[name]["work"]}
        assert offered, f"{name} was offered nothing"
        seen[name] = {(await _next(socket, "offer"))["contact_id"] for _ in offered}
        assert seen[name] == offered
    assert not seen["ann"] & seen["bob"]
    for socket in (ann, bob):  # and nothing of the other's follows
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await _next(socket, "offer")
    await ann.close()
    await bob.close()


async def test_an_offer_that_rings_out_ends_timed_out_and_rings_again(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api()
    ctx = api.server.app[SERVICES].ctx
    socket, first = await _ringing_for_ann(api)
    clock.advance(21)  # billing rings 20 s
    assert await OfferRepository(ctx).expire_due() == 1
    ended = await _next(socket, "offer_ended")
    assert (ended["offer_id"], ended["reason"]) == (first["offer_id"], "timed_out")
    await _route(api)
    again = await _next(socket, "offer")
    assert again["offer_id"] != first["offer_id"]
    assert again["contact_id"] == first["contact_id"]
    await socket.close()


async def test_the_follower_goes_on_where_it_stopped_after_a_redis_error(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of the stream that fails (Redis away a moment, a read that times out) restarts
    the follower; the events written meanwhile still reach the console."""
    api = await make_api()
    ctx = api.server.app[SERVICES].ctx
    socket = await _desk(api, "ann", "offline")
    real_xread, failed = ctx.redis.xread, asyncio.Event()

    async def fails_once(*args: Any, **kwargs: Any) -> Any:
        if not failed.is_set():
            failed.set()
            away = {"presence": "away", "reason": "lunch"}
            assert (await api.put("/v1/agents/ann/presence", json=away, headers=ADMIN)).ok
            raise RedisConnectionError("Redis went away a moment")
        return await real_xread(*args, **kwargs)

    monkeypatch.setattr(ctx.redis, "xread", fails_once)
    frame = await _next(socket, "presence")
    assert (frame["presence"], frame["reason"]) == ("away", "lunch")
    await socket.close()


async def test_away_takes_only_a_reason_the_rules_list(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann", "available")
    socket = await _connect(api, "ann")
    snapshot = await _next(socket, "snapshot")
    assert "lunch" in snapshot["away_reasons"]
    nap = await _command(socket, id="1", type="presence", presence="away", reason="nap")
    assert nap["problem"]["errors"][0]["field"] == "reason"
    assert "lunch" in nap["problem"]["detail"]
    odd = await _command(socket, id="2", type="presence", presence="available", reason="lunch")
    assert odd["problem"]["errors"][0]["field"] == "reason"
    rest = await api.put("/v1/agents/ann/presence", json={"presence": "away", "reason": "nap"})
    assert rest.status == 422
    agent = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert agent["presence"] == "available"  # nothing changed
    lunch = await _command(socket, id="3", type="presence", presence="away", reason="lunch")
    assert lunch["type"] == "ack"
    await socket.close()


async def test_a_queue_that_needs_a_wrap_up_code_completes_only_with_one(
    make_api: MakeApi,
) -> None:
    rules = TEST_CONFIG.model_dump(mode="json")
    rules["queues"]["billing"]["wrap_up_code_required"] = True
    api = await make_api(RoutingConfig.model_validate(rules))
    socket = await _desk(api, "ann")
    contact = await post_contact_from(api, "chat-1", {"email": "jo@example.com"})
    await _route(api)
    offer = await _next(socket, "offer")
    assert offer["card"]["wrap_up_code_required"] is True
    assert "resolved" in offer["card"]["wrap_up_codes"]
    await _command(socket, id="1", type="accept", offer_id=offer["offer_id"])
    bare = await _command(socket, id="2", type="complete", contact_id=contact["id"])
    assert bare["problem"]["errors"][0]["field"] == "disposition"
    coded = await _command(socket, id="3", type="complete", contact_id=contact["id"],
                           disposition="resolved")  # fmt: skip
    assert coded["type"] == "ack"
    await socket.close()


async def _connected_to_ann(api: TestClient) -> tuple[ClientWebSocketResponse, str]:
    socket, offer = await _ringing_for_ann(api)
    accepted = await _command(socket, id="accept", type="accept", offer_id=offer["offer_id"])
    assert accepted["type"] == "ack"
    return socket, offer["contact_id"]


async def test_a_transfer_to_a_queue_keeps_the_first_arrival_and_frees_the_agent(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api()
    socket, contact_id = await _connected_to_ann(api)
    before = await (await api.get(f"/v1/contacts/{contact_id}", headers=ADMIN)).json()
    clock.advance(30)
    moved = await _command(socket, id="t", type="transfer", contact_id=contact_id,
                           queue="support", note="needs a specialist")  # fmt: skip
    assert moved == {"type": "ack", "id": "t", "result": {"queue": "support"}}
    frame = await _next(socket, "transferred")
    assert (frame["contact_id"], frame["queue"]) == (contact_id, "support")
    after = await (await api.get(f"/v1/contacts/{contact_id}", headers=ADMIN)).json()
    assert (after["state"], after["queue"]) == ("queued", "support")
    assert after["first_enqueued_at"] == before["first_enqueued_at"]
    assert after["transfers"][0] | {"at": 0} == {
        "at": 0, "from_agent": "ann", "from_queue": "billing", "to_queue": "support",
        "to_agent": "", "note": "needs a specialist",
    }  # fmt: skip
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert ann["work"] == []
    timeline = await (
        await api.get(f"/v1/customers/{after['customer_id']}/timeline", headers=ADMIN)
    ).json()
    entry = next(i for i in timeline["items"] if i["contact_id"] == contact_id)
    assert entry["transfers"][0]["to_queue"] == "support"
    erased = await api.delete(f"/v1/customers/{after['customer_id']}", headers=ADMIN)
    assert erased.status == 200
    scrubbed = await (await api.get(f"/v1/contacts/{contact_id}", headers=ADMIN)).json()
    assert scrubbed["transfers"] == []  # its note may name the customer
    await socket.close()


async def test_a_transfer_to_a_named_agent_rings_for_that_agent(make_api: MakeApi) -> None:
    api = await make_api()
    socket, contact_id = await _connected_to_ann(api)
    bob = await _desk(api, "bob")
    moved = await _command(socket, id="t", type="transfer", contact_id=contact_id,
                           agent_id="bob")  # fmt: skip
    assert moved["type"] == "ack", moved
    await _route(api)
    offer = await _next(bob, "offer")
    assert offer["contact_id"] == contact_id
    assert (await _next(socket, "transferred"))["to_agent"] == "bob"
    await socket.close()
    await bob.close()


async def test_a_transfer_that_cannot_be_made_says_why_and_changes_nothing(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket, contact_id = await _connected_to_ann(api)
    await _agent(api, "cat", "offline")
    ctx = api.server.app[SERVICES].ctx
    before = await dump(ctx.redis)
    cases = {
        "unknown queue": ({"queue": "nowhere"}, 422, "queue"),
        "voice and email only": ({"queue": "sales"}, 422, "queue"),
        "nowhere named": ({}, 422, "queue"),
        "to oneself": ({"agent_id": "ann"}, 422, "agent_id"),
        "an offline agent": ({"agent_id": "cat"}, 409, None),
        "nobody": ({"agent_id": "zed"}, 409, None),
    }
    for why, (target, status, field) in cases.items():
        refused = await _command(socket, id=why, type="transfer", contact_id=contact_id, **target)
        assert refused["type"] == "error", why
        assert refused["problem"]["status"] == status, (why, refused)
        if field:
            assert refused["problem"]["errors"][0]["field"] == field, why
    assert await dump(ctx.redis) == before
    bob = await _desk(api, "bob")
    stolen = await _command(bob, id="s", type="transfer", contact_id=contact_id, queue="support")
    assert stolen["problem"]["status"] == 409
    await socket.close()
    await bob.close()


async def test_a_next_presence_waits_for_the_work_to_end_and_stops_new_offers(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket, contact_id = await _connected_to_ann(api)
    later = await _command(socket, id="n", type="next_presence", presence="away", reason="lunch")
    assert later == {"type": "ack", "id": "n", "result": {"when": "later"}}
    pending = await _next(socket, "next_presence")
    assert (pending["presence"], pending["reason"]) == ("away", "lunch")
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert ann["presence"] == "available"
    assert ann["next_presence"] == {"presence": "away", "reason": "lunch"}
    newcomer = await post_contact_from(api, "chat-2", {"email": "sam@example.com"})
    await _route(api)
    waiting = await (await api.get(f"/v1/contacts/{newcomer['id']}", headers=ADMIN)).json()
    assert waiting["state"] == "queued"  # ann is leaving: she is offered nothing new
    done = await _command(socket, id="c", type="complete", contact_id=contact_id)
    assert done["type"] == "ack"
    now = await _next(socket, "presence")
    assert (now["presence"], now["reason"]) == ("away", "lunch")
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert (ann["presence"], ann["away_reason"], ann["next_presence"]) == ("away", "lunch", None)
    await socket.close()


async def test_a_next_presence_with_no_work_applies_at_once_and_a_presence_replaces_it(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket = await _desk(api, "ann")
    now = await _command(socket, id="1", type="next_presence", presence="offline")
    assert now["result"] == {"when": "now"}
    assert (await _next(socket, "presence"))["presence"] == "offline"
    bad = await _command(socket, id="2", type="next_presence", presence="away", reason="nap")
    assert bad["problem"]["errors"][0]["field"] == "reason"
    await socket.close()
    socket, contact_id = await _connected_to_ann(api)
    await _command(socket, id="3", type="next_presence", presence="offline")
    await _command(socket, id="4", type="presence", presence="available")  # changed her mind
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert ann["next_presence"] is None
    await _command(socket, id="5", type="complete", contact_id=contact_id)
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert ann["presence"] == "available"
    await socket.close()


async def _support_chat_connected_to_ann(
    api: TestClient,
) -> tuple[ClientWebSocketResponse, str]:
    """Ann's console, with a chat of the support queue (5 s of wrap-up) connected to her."""
    profile = {"name": "Ann", "queues": ["support"]}
    assert (await api.put("/v1/agents/ann", json=profile, headers=ADMIN)).ok
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).ok
    socket = await _connect(api, "ann")
    await _next(socket, "snapshot")
    created = await api.post(
        "/v1/contacts", json={"channel": "chat", "external_id": "s-1", "queue": "support"}
    )
    contact_id = (await created.json())["id"]
    await _route(api)
    offer = await _next(socket, "offer")
    await _command(socket, id="a", type="accept", offer_id=offer["offer_id"])
    return socket, contact_id


async def test_a_next_presence_is_taken_when_the_wrap_up_ends(
    make_api: MakeApi, clock: ManualClock
) -> None:
    api = await make_api()
    ctx = api.server.app[SERVICES].ctx
    socket, contact_id = await _support_chat_connected_to_ann(api)
    await _command(socket, id="n", type="next_presence", presence="away", reason="break")
    done = await _command(socket, id="c", type="complete", contact_id=contact_id)
    assert done["result"]["state"] == "wrap_up"  # support has 5 s of wrap-up
    clock.advance(6)
    await ContactRepository(ctx).end_due_wrap_ups()
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert (ann["presence"], ann["away_reason"]) == ("away", "break")  # not available
    await socket.close()


async def test_a_customer_who_leaves_a_held_chat_is_told_to_its_agent(make_api: MakeApi) -> None:
    api = await make_api()
    socket, contact_id = await _connected_to_ann(api)
    adapter = bearer(Role.ADAPTER, "widget")
    left = await api.delete(f"/v1/contacts/{contact_id}", headers=adapter)
    assert left.status == 200
    assert (await _next(socket, "customer_left"))["contact_id"] == contact_id
    contact = await (await api.get(f"/v1/contacts/{contact_id}", headers=ADMIN)).json()
    assert contact["state"] == "connected" and contact["customer_left_at"] > 0
    again = await api.delete(f"/v1/contacts/{contact_id}", headers=adapter)
    assert again.status == 200  # unchanged
    done = await _command(socket, id="c", type="complete", contact_id=contact_id)
    assert done["type"] == "ack"
    await socket.close()


async def test_end_wrap_up_completes_the_contact_and_takes_the_chosen_presence(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket, contact_id = await _support_chat_connected_to_ann(api)
    await _command(socket, id="n", type="next_presence", presence="offline")
    await _command(socket, id="c", type="complete", contact_id=contact_id)
    ended = await _command(socket, id="e", type="end_wrap_up", contact_id=contact_id)
    assert ended == {"type": "ack", "id": "e", "result": {"ended": True}}, ended
    assert (await _next(socket, "wrap_up_ended"))["contact_id"] == contact_id
    ann = await (await api.get("/v1/agents/ann", headers=ADMIN)).json()
    assert ann["presence"] == "offline"
    again = await _command(socket, id="f", type="end_wrap_up", contact_id=contact_id)
    assert again["problem"]["status"] == 409
    await socket.close()
