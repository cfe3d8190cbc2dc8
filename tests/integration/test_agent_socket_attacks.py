"""The console under attack: a frame that cannot be made, a token that expires, opens that
Redis records out of order, a replacement message that is lost, an erasure while the card
shows the customer, frames deeper than JSON can be read."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from aiohttp import WSMsgType
from redis.exceptions import ConnectionError as RedisConnectionError

from ccaas.domain.roles import Principal, Role
from ccaas.domain.tokens import TokenSigner
from ccaas.web import agent_hub
from ccaas.web.agent_socket import HUB
from ccaas.web.services import SERVICES
from tests.helpers import TEST_SECRET, MakeApi, bearer, post_contact_from
from tests.integration.test_agent_socket import (
    ADMIN,
    NO_TOKEN,
    _agent,
    _command,
    _connect,
    _desk,
    _next,
    _ringing_for_ann,
    _route,
)

ADAPTER = bearer(Role.ADAPTER, "widget")


async def _frames_until(socket: Any, kind: str) -> list[dict[str, Any]]:
    """Every frame up to and including the next of `kind`."""
    seen = []
    async with asyncio.timeout(5.0):
        while True:
            frame = await socket.receive_json()
            seen.append(frame)
            if frame["type"] == kind:
                return seen


# --- a socket outlives its token ------------------------------------------------------------
async def test_a_socket_is_closed_once_its_token_expires(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    # a token that stops being valid (30 s of leeway included) about 2 s from now
    issued = TokenSigner(TEST_SECRET, "t1").issue(
        Principal(Role.AGENT, "ann"), ttl_seconds=10, now=time.time() - 38
    )
    socket = await api.ws_connect(
        "/v1/agent/ws", params={"access_token": issued.token}, headers=NO_TOKEN
    )
    await _next(socket, "snapshot")
    closing = await _closing(socket, 5)
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4003)
    http = await api.get("/v1/agents/ann", headers={"Authorization": f"Bearer {issued.token}"})
    assert http.status == 401  # the token is dead for every other call too


async def _closing(socket: Any, seconds: float) -> Any:
    """The close message the server sends, skipping the frames before it."""
    async with asyncio.timeout(seconds):
        while True:
            message = await socket.receive()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                return message


# --- a Redis error while filling a frame in -------------------------------------------------
def _card_fails_once(hub: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    real_card, failed = hub.cards.card, []

    async def fails_once(contact_id: str) -> Any:
        if not failed:
            failed.append(contact_id)
            raise RedisConnectionError("Redis went away a moment")
        return await real_card(contact_id)

    monkeypatch.setattr(hub.cards, "card", fails_once)
    return failed


async def test_a_frame_that_cannot_be_made_closes_the_socket_and_the_resume_brings_it(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading an offer's card fails once (Redis away a moment): the console is not left
    open and deaf, nor is the offer dropped; the socket is closed (1013) and the console,
    resuming from the last seq it applied, is sent the offer."""
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")
    socket = await _connect(api, "ann")
    snapshot = await _next(socket, "snapshot")
    failed = _card_fails_once(hub, monkeypatch)
    await post_contact_from(api, "chat-1", {"email": "jo@example.com"})
    await _route(api)
    closing = await _closing(socket, 5)
    assert failed and (closing.type, closing.data) == (WSMsgType.CLOSE, 1013)
    again = await _connect(api, "ann", last_seq=snapshot["seq"])
    seen = await _frames_until(again, "resumed")
    await again.close()
    assert [f["type"] for f in seen if f["type"] == "offer"] == ["offer"]


# --- replacing a session ----------------------------------------------------------------------
@pytest.mark.parametrize("replicas", [2])
async def test_a_second_sign_in_during_a_redis_blip_still_closes_the_first(
    make_api: MakeApi, replicas: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replacement is only a PUBLISH: a replica whose subscription is reconnecting (a
    Redis blip, here its pub/sub connections dropped) misses it for good. Its keep-alive
    (every 10 s; 0.5 s here) finds the session no longer the agent's and leaves it open:
    two consoles take offers and commands for one agent, and the old one's agent goes
    offline (grace + 20 s) under the new one."""
    monkeypatch.setattr(agent_hub, "KEEP_SECONDS", 0.5)
    one, two = await make_api(), await make_api()
    await _agent(one, "ann", "available")
    ctx = one.server.app[SERVICES].ctx
    first = await _connect(one, "ann")
    await _next(first, "snapshot")
    await ctx.redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    second = await _connect(two, "ann")
    await _next(second, "snapshot")
    closing = await _closing(first, 5)  # the keep-alive finds it replaced
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4001)
    assert (await _command(second, id="p", type="ping"))["type"] == "ack"
    await second.close()


async def _reads(socket: Any) -> None:
    """A console that reads its frames (and so answers a close) at once."""
    with contextlib.suppress(Exception):
        while (await socket.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED):
            pass


async def test_the_newest_console_stays_when_redis_records_two_opens_out_of_order(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two consoles connecting close together must reach Redis in the order this replica
    closes them: otherwise the one Redis records last announces the replacement of the
    console this replica kept, every console ends closed with 4001 (the page does not
    reconnect after 4001), Redis names a session nobody holds and the agent goes offline
    after the grace. Here the second console's open_session is 0.3 s slower (a busier pool
    connection); without any delay, 3 to 5 consoles at once once ended with none open."""
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")
    real_open, opened = hub.store.open, []

    async def open_session(agent_id: str, session_id: str, deadline_ms: int) -> str:
        opened.append(session_id)

        async def on_its_way() -> str:  # sent: a cancelled caller does not take it back
            if len(opened) == 2:
                await asyncio.sleep(0.3)
            return await real_open(agent_id, session_id, deadline_ms)

        return await asyncio.shield(asyncio.ensure_future(on_its_way()))

    monkeypatch.setattr(hub.store, "open", open_session)
    first = await _connect(api, "ann")
    await _next(first, "snapshot")
    readers = [asyncio.create_task(_reads(first))]
    second = await _connect(api, "ann")
    readers.append(asyncio.create_task(_reads(second)))
    await asyncio.sleep(0.05)
    newest = await _connect(api, "ann")
    await _next(newest, "snapshot")
    readers.append(asyncio.create_task(_reads(newest)))
    await asyncio.sleep(1)
    current = await hub.store.current("ann")
    held = hub.sessions.get("ann")
    states = [s.closed for s in (first, second, newest)]
    for reader in readers:
        reader.cancel()
    for socket in (first, second, newest):
        await socket.close()
    assert not states[2] and held is not None and held.id == current, (
        f"closed (first, second, newest): {states}; the hub holds "
        f"{held.id if held else None}, Redis names {current} (opened in order {opened})"
    )


async def test_many_sockets_at_once_from_one_token_leave_exactly_one(make_api: MakeApi) -> None:
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")
    sockets = await asyncio.gather(*(_connect(api, "ann") for _ in range(50)))
    readers = [asyncio.create_task(_reads(s)) for s in sockets]
    await asyncio.sleep(3)
    open_ = [s for s in sockets if not s.closed]
    current = await hub.store.current("ann")
    held = hub.sessions.get("ann")
    for reader in readers:
        reader.cancel()
    for socket in sockets:
        await socket.close()
    assert len(open_) == 1 and held is not None and held.id == current, (
        f"{len(open_)} sockets open, the hub holds {held and held.id}, Redis says {current}"
    )


# --- resume -----------------------------------------------------------------------------------
async def test_a_resume_from_the_offer_ended_frame_of_an_accept_still_tells_connected(
    make_api: MakeApi,
) -> None:
    """An accept's event makes two frames with one seq (offer_ended, then connected): the
    first says `more`, so a console that applied it and lost the link before the second
    resumes from the seq before (the offer's), as docs/websocket.md says, and gets both."""
    api = await make_api()
    socket, offer = await _ringing_for_ann(api)
    await _command(socket, id="1", type="accept", offer_id=offer["offer_id"])
    ended = await _next(socket, "offer_ended")
    assert ended["more"] is True
    await socket.close()  # the link dropped before `connected` was applied
    again = await _connect(api, "ann", last_seq=offer["seq"])
    seen = await _frames_until(again, "resumed")
    await again.close()
    assert any(f["type"] == "connected" for f in seen), [f["type"] for f in seen]


# --- erasure ----------------------------------------------------------------------------------
async def test_an_erasure_reaches_the_console_that_shows_the_customer(make_api: MakeApi) -> None:
    api = await make_api()
    socket, offer = await _ringing_for_ann(api)
    await _command(socket, id="1", type="accept", offer_id=offer["offer_id"])
    connected = await _next(socket, "connected")
    customer_id = connected["card"]["customer"]["id"]
    assert connected["card"]["customer"]["identities"]
    assert (await api.delete(f"/v1/customers/{customer_id}", headers=ADMIN)).status == 200
    told = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            while True:
                told.append(await socket.receive_json())
    last = connected["seq"]
    await socket.close()
    again = await _connect(api, "ann", last_seq=last)
    told += await _frames_until(again, "resumed")
    await again.close()
    about = [f for f in told if f.get("contact_id") == offer["contact_id"]]
    assert about, (
        "the console still shows the erased customer's identities and conversation: no frame "
        f"told it, live or on resume ({[f['type'] for f in told]})"
    )


# --- malformed frames -------------------------------------------------------------------------
async def test_deeply_nested_json_is_answered_with_an_error_not_a_dropped_socket(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket = await _desk(api, "ann", "offline")
    await socket.send_str("[" * 30_000 + "]" * 30_000)  # 60 KB: inside the 64 KiB limit
    answer = await socket.receive(timeout=3)
    assert answer.type is WSMsgType.TEXT, (answer.type, answer.data, answer.extra)
    assert answer.json()["type"] == "error"
    await socket.close()


# --- resume cost ------------------------------------------------------------------------------
# --- the reason of an engine's offline -----------------------------------------------------
