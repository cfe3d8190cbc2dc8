"""The console under attack, what holds: another agent's offers and contacts, ended contacts,
other roles' tokens, binary and oversized frames, no token in the logs, nothing lost between
snapshot, resume and live frames, a console that never answers."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import WSMsgType
from structlog.testing import capture_logs

from ccaas.domain.roles import Role
from ccaas.web.agent_socket import HUB
from tests.helpers import MakeApi, bearer, post_contact_from, token
from tests.integration.test_agent_socket import (
    NO_TOKEN,
    _agent,
    _command,
    _connect,
    _desk,
    _next,
    _route,
)

ADAPTER = bearer(Role.ADAPTER, "widget")


async def test_a_new_console_is_not_held_up_by_an_old_one_that_does_not_answer(
    make_api: MakeApi,
) -> None:
    """The old console's network died (the usual reason to sign in again): it never answers
    the close. The new console should get its snapshot at once."""
    api = await make_api()
    await _agent(api, "ann", "available")
    old = await _connect(api, "ann")
    await _next(old, "snapshot")  # and never read again: it does not answer the close
    started = time.monotonic()
    new = await _connect(api, "ann")
    await _next(new, "snapshot")
    waited = time.monotonic() - started
    await new.close()
    await old.close()
    assert waited < 2, f"the new console waited {waited:.1f} s for its snapshot"


async def test_the_newest_console_survives_when_an_older_replacement_is_slow(
    make_api: MakeApi,
) -> None:
    """An old console that does not answer (dead network), a new tab that hangs on
    'connecting' because of it, and a reload of that tab: the reloaded (newest) console must
    be the agent's session."""
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")
    dead = await _connect(api, "ann")
    await _next(dead, "snapshot")  # never read again
    stuck = await _connect(api, "ann")  # its snapshot waits for the dead one's close
    await asyncio.sleep(0.3)
    stuck_reader = asyncio.create_task(stuck.receive())  # the reload: this tab goes away
    newest = await _connect(api, "ann")
    await _next(newest, "snapshot")
    await asyncio.sleep(11)  # aiohttp gives up waiting for the dead console's close (10 s)
    stuck_reader.cancel()
    frames = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            while True:
                message = await newest.receive()
                frames.append((message.type, message.data))
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED):
                    break
    current = await hub.store.current("ann")
    alive = "ann" in hub.sessions and hub.sessions["ann"].id == current
    await newest.close()
    await dead.close()
    assert not frames and alive, (
        f"the newest console was told {frames} and Redis's session {current!r} is "
        f"{'held here' if alive else 'no open console'}: ann goes offline after the grace"
    )


@pytest.mark.parametrize("replicas", [2])
async def test_a_second_sign_in_on_another_replica_closes_the_first(
    make_api: MakeApi, replicas: int
) -> None:
    one, two = await make_api(), await make_api()
    await _agent(one, "ann", "available")
    first = await _connect(one, "ann")
    await _next(first, "snapshot")
    second = await _connect(two, "ann")
    await _next(second, "snapshot")
    assert (await _next(first, "session_replaced"))["type"] == "session_replaced"
    closing = await first.receive()
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4001)
    await second.close()


async def test_an_agent_cannot_act_on_or_hear_of_another_agents_offer_or_contact(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    await _agent(api, "ann", "available")
    await _agent(api, "bob", "offline")
    ann, bob = await _connect(api, "ann"), await _connect(api, "bob")
    await _next(ann, "snapshot")
    await _next(bob, "snapshot")
    contact = await post_contact_from(api, "chat-1", {"email": "jo@example.com"})
    await _route(api)
    offer = await _next(ann, "offer")
    forged = offer["offer_id"]
    for n, cmd in enumerate(
        [
            {"type": "accept", "offer_id": forged},
            {"type": "reject", "offer_id": forged},
            {"type": "message", "contact_id": contact["id"], "text": "hi from bob"},
            {"type": "complete", "contact_id": contact["id"]},
        ]
    ):
        answer = await _command(bob, id=str(n), **cmd)
        assert answer["type"] == "error" and answer["problem"]["status"] in (403, 404, 409), answer
    await _command(ann, id="a", type="accept", offer_id=forged)
    await _next(ann, "connected")
    for n, cmd in enumerate(
        [
            {"type": "message", "contact_id": contact["id"], "text": "hi from bob"},
            {"type": "complete", "contact_id": contact["id"]},
        ]
    ):
        answer = await _command(bob, id=f"c{n}", **cmd)
        assert answer["type"] == "error", answer
    said = await api.post(f"/v1/contacts/{contact['id']}/messages", json={"text": "secret"},
                          headers=ADAPTER)  # fmt: skip
    assert said.status == 201
    assert (await _next(ann, "message"))["message"]["text"] == "secret"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            while True:
                frame = await bob.receive_json()
                assert frame["type"] in ("ack", "error"), frame
    done = await _command(ann, id="d", type="complete", contact_id=contact["id"])
    assert done["type"] == "ack"
    late = await _command(ann, id="e", type="message", contact_id=contact["id"], text="bye")
    assert late["problem"]["status"] == 409  # a completed contact takes no message
    adapter_late = await api.post(f"/v1/contacts/{contact['id']}/messages",
                                  json={"text": "hello?"}, headers=ADAPTER)  # fmt: skip
    assert adapter_late.status == 409
    await ann.close()
    await bob.close()


async def test_other_roles_and_oversized_frames(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.ADAPTER):
        params = {"access_token": token(role, "ann")}
        answer = await api.get("/v1/agent/ws", params=params, headers=NO_TOKEN)
        assert answer.status == 403, role
    header = {"Authorization": f"Bearer {token(Role.AGENT, 'ann')}"}
    socket = await api.ws_connect("/v1/agent/ws", headers=header)
    await _next(socket, "snapshot")
    await socket.send_bytes(b"\x00")
    assert (await _next(socket, "error"))["problem"]["errors"][0]["field"] == "frame"
    await socket.send_str("x" * (64 * 1024 + 1))
    closing = await socket.receive(timeout=3)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)


async def test_the_query_token_is_not_logged(make_api: MakeApi) -> None:
    api = await make_api()
    await _agent(api, "ann")
    good = token(Role.AGENT, "ann")
    with capture_logs() as logs:
        socket = await _connect(api, "ann")
        await _next(socket, "snapshot")
        await socket.close()
        await api.get("/v1/agent/ws", params={"access_token": good + "x"}, headers=NO_TOKEN)
        await api.get("/v1/agent/ws", params={"access_token": token(Role.SUPERVISOR, "s")},
                      headers=NO_TOKEN)  # fmt: skip
        await asyncio.sleep(0.1)
    assert logs
    assert not [e for e in logs if "access_token" in repr(e) or good[:40] in repr(e)]


async def test_a_thousand_commands_in_a_burst_are_all_answered_in_order(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    socket = await _desk(api, "ann", "offline")
    started = time.monotonic()
    for n in range(1000):
        await socket.send_json({"type": "ping", "id": str(n)})
    ids = []
    async with asyncio.timeout(20):
        while len(ids) < 1000:
            frame = await socket.receive_json()
            if frame["type"] == "ack":
                ids.append(int(frame["id"]))
    assert ids == list(range(1000)), "answers out of order"
    assert time.monotonic() - started < 20
    await socket.close()
