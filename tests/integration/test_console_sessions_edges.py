"""The console's edges: a session another replica ended, a replayed accept, a failed
registration, and a console signed in again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType
from redis.exceptions import ConnectionError as RedisConnectionError

from ccaas.web import agent_hub
from ccaas.web.agent_socket import HUB
from tests.helpers import MakeApi
from tests.integration.test_agent_socket import (
    _agent,
    _command,
    _connect,
    _next,
    _ringing_for_ann,
)
from tests.integration.test_agent_socket_attacks import _closing, _frames_until


async def test_a_replayed_accept_marks_its_first_frame_more(make_api: MakeApi) -> None:
    """docs/websocket.md: of an event's two frames the first carries `more`. The live path
    marks it; the resume path (_start) does not, so a console whose link drops between the
    replayed offer_ended and connected keeps that seq and never gets `connected`."""
    api = await make_api()
    socket, offer = await _ringing_for_ann(api)
    await _command(socket, id="1", type="accept", offer_id=offer["offer_id"])
    await _next(socket, "connected")
    await socket.close()
    again = await _connect(api, "ann", last_seq=offer["seq"])
    seen = await _frames_until(again, "resumed")
    await again.close()
    ended = [f for f in seen if f["type"] == "offer_ended"]
    assert ended and ended[0].get("more") is True, ended


async def test_a_session_the_reaper_ended_is_not_closed_as_replaced(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This replica could not renew its sessions for the grace + 20 s (cut from Redis);
    another replica's reaper ended ann's session (HDEL). No other console exists, yet the
    keep-alive now reports it 'stale' and closes it with 4001 'signed in elsewhere': the
    page shows 'opened somewhere else' and never reconnects."""
    monkeypatch.setattr(agent_hub, "KEEP_SECONDS", 0.3)
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")
    socket = await _connect(api, "ann")
    await _next(socket, "snapshot")
    far = hub.ctx.clock.now_ms() + 10**9
    assert await hub.store.end("ann", far)  # what SessionReaper does once the deadline passed
    with pytest.raises(TimeoutError):
        closing = await _closing(socket, 1.5)
        pytest.fail(f"closed {closing.data} ({closing.extra}) though no console replaced it")
    await socket.close()


async def test_a_failed_registration_leaves_no_expiry_timer(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_session fails (Redis away): hub.register raises outside the try/finally, so the
    token-expiry timer (call_later, up to the token's whole life) is never cancelled and
    keeps the dead socket; one per failed reconnect."""
    api = await make_api()
    hub = api.server.app[HUB]
    await _agent(api, "ann", "available")

    async def fails(*_: Any) -> str:
        raise RedisConnectionError("Redis went away a moment")

    monkeypatch.setattr(hub.store, "open", fails)
    socket = await _connect(api, "ann")
    closing = await _closing(socket, 2)  # the handler raised after the upgrade
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    await socket.close()
    await asyncio.sleep(0.2)
    loop: Any = asyncio.get_running_loop()
    left = [h for h in loop._scheduled if "agent_socket" in repr(h) and not h.cancelled()]
    assert not left, left
