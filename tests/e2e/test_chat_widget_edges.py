"""The chat widget when the network or the token goes wrong."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser, WebSocketRoute

from tests.e2e.conftest import Engine


async def test_a_saved_chat_the_server_refuses_lets_the_customer_start_again(
    engine: Engine, browser: Browser
) -> None:
    """A saved conversation whose token the server refuses (401 before the upgrade: the
    engine's secret changed, the token expired while the page was open, the contact is gone)
    closes the socket with 1006, never 4401: the widget retries forever, "Reconnecting…",
    with the start form hidden, so the customer can never chat again from this browser."""
    context = await browser.new_context(viewport={"width": 420, "height": 640})
    page = await context.new_page()
    url = engine.urls[0]
    await page.goto(url + "/chat")
    saved = {"conversation_id": "cgone", "token": "cgone.99999999999999.forged",
             "expires_at": 99999999999999}  # fmt: skip
    await page.evaluate(
        "([k, v]) => localStorage.setItem(k, v)", [f"ccaas-chat:{url}", json.dumps(saved)]
    )
    await page.reload()
    await page.wait_for_timeout(6000)
    status = await page.locator("[data-testid=chat-status]").inner_text()
    start_visible = await page.locator("[data-testid=chat-start-form]").is_visible()
    assert start_visible, f"the customer is stuck: status {status!r}, no way to start a chat"


async def test_a_message_typed_while_reconnecting_is_not_lost(
    engine: Engine, browser: Browser
) -> None:
    """reply() clears the box and send() drops the frame when the socket is not open: a
    message written during a network drop vanishes without a word and never arrives."""
    sockets: list[WebSocketRoute] = []
    down = {"now": False}

    async def route(ws: WebSocketRoute) -> None:
        if down["now"]:
            await ws.close(code=1006)
            return
        ws.connect_to_server()
        sockets.append(ws)

    context = await browser.new_context(viewport={"width": 420, "height": 640})
    page = await context.new_page()
    await page.route_web_socket(re.compile(r".*/v1/chat/ws.*"), route)
    await page.goto(engine.urls[0] + "/chat")
    await page.fill("[data-testid=chat-first]", "hello")
    await page.click("[data-testid=chat-start]")
    status = page.locator("[data-testid=chat-status]")
    await status.filter(has_text="You are").wait_for()
    down["now"] = True
    await sockets[-1].close(code=1006)
    await status.filter(has_text="Reconnecting").wait_for()
    await page.fill("[data-testid=chat-text]", "are you there?")
    await page.press("[data-testid=chat-text]", "Enter")
    box = await page.locator("[data-testid=chat-text]").input_value()
    down["now"] = False
    await status.filter(has_text="You are").wait_for(timeout=20000)
    await page.wait_for_timeout(2000)
    shown = await page.locator("[data-testid=chat-message]").all_inner_texts()
    assert "are you there?" in shown or box == "are you there?", (
        f"the message vanished: the box holds {box!r}, the chat shows {shown}"
    )
