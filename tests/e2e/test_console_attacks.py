"""The console page as an agent meets it: what is typed survives frames arriving, countdowns
follow the time left (not the PC's clock), wrap-up can be ended, a sent reply leaves the
composer, one notification per offer, unread counts while the tab is hidden, and customer
text is never HTML."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Browser, WebSocketRoute

from ccaas.domain.roles import Role
from tests.e2e.conftest import Engine, artifacts, available_page, connected_chat, eventually, say


async def test_wrap_up_notes_and_code_survive_a_message_arriving(
    slow_engine: Engine, browser: Browser
) -> None:
    """Every frame re-renders the panel; the composer's draft is kept, but the wrap-up code
    and the notes being typed are built anew, empty."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann")
    contact_id = await connected_chat(page, engine)
    await page.select_option("[data-testid=wrap-up-code]", "resolved")
    await page.fill("[data-testid=notes]", "explained the fee")
    await page.fill("[data-testid=composer]", "half a reply")
    say(engine, contact_id, "are you still there?")
    await page.get_by_text("are you still there?").wait_for()
    kept = {
        "composer": await page.locator("[data-testid=composer]").input_value(),
        "code": await page.locator("[data-testid=wrap-up-code]").input_value(),
        "notes": await page.locator("[data-testid=notes]").input_value(),
    }
    assert kept == {"composer": "half a reply", "code": "resolved",
                    "notes": "explained the fee"}, kept  # fmt: skip


async def test_the_countdown_follows_the_server_not_the_pcs_clock(
    slow_engine: Engine, browser: Browser
) -> None:
    """The offer frame carries remaining_ms, but the page counts down to `deadline` (the
    server's clock) with Date.now(): on a PC whose clock is a minute slow, a 30 s offer
    shows 1:30 and the agent believes it has time it does not have."""
    slow_clock = "{ const real = Date.now; Date.now = () => real.call(Date) - 60000; }"
    engine = slow_engine
    page = await available_page(browser, engine, "ann", init=slow_clock)
    engine.chat("chat-1", "jo@example.com")
    countdown = page.locator("[data-testid=countdown]")
    await countdown.wait_for()
    await page.wait_for_timeout(600)  # the page's tick ran
    minutes, seconds = (await countdown.inner_text()).split(":")
    shown = int(minutes) * 60 + int(seconds)
    assert shown <= 30, f"a 30 s offer shows {minutes}:{seconds}"


async def test_an_agent_in_wrap_up_can_choose_available_to_end_it(
    slow_engine: Engine, browser: Browser
) -> None:
    """docs: 'available ends its wrap-ups'. In wrap-up the presence list has no wrap_up
    option, so it keeps showing Available: picking Available there is no change, no
    command is sent, and the page offers no other way to end the wrap-up early."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann")
    await connected_chat(page, engine)
    await page.click("[data-testid=complete]")
    await page.locator("[data-testid=wrap-up]").wait_for()
    await eventually(
        "ann is in wrap-up",
        lambda: engine.call("GET", "/v1/agents/ann")[1]["presence"] == "wrap_up",
    )
    await page.screenshot(path=str(artifacts() / "wrap-up.png"))
    shown = await page.locator("[data-testid=presence]").input_value()
    end_button = page.get_by_role("button", name=re.compile("end wrap|done|finish", re.I))
    assert shown != "available" or await end_button.count(), (
        "in wrap-up the presence list already shows Available: choosing it does nothing"
    )


async def test_a_sent_reply_leaves_the_composer_when_a_frame_comes_before_its_ack(
    slow_engine: Engine, browser: Browser
) -> None:
    """The reply is cleared on the old textarea when its ack comes; a frame that re-renders
    the panel before that (a customer writing at the same moment; 300 ms of latency on the
    way up here) copies the text just sent into the new composer as a draft: it stays
    there, and Enter sends it twice."""
    engine = slow_engine
    holding: dict[str, Any] = {}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def upward(message: str | bytes) -> None:
            if isinstance(message, str) and '"type":"message"' in message:
                asyncio.get_running_loop().call_later(0.3, server.send, message)
                holding["sent"] = True
            else:
                server.send(message)

        ws.on_message(upward)

    page = await available_page(browser, engine, "ann", route=route)
    contact_id = await connected_chat(page, engine)
    await page.fill("[data-testid=composer]", "let me look at it")
    await page.press("[data-testid=composer]", "Enter")
    await asyncio.sleep(0.05)
    assert holding.get("sent")
    await asyncio.to_thread(say, engine, contact_id, "hello?")  # while the reply is on its way
    await page.get_by_text("let me look at it").wait_for()
    await page.wait_for_timeout(800)  # the ack came
    sent = [m for m in engine.call("GET", f"/v1/contacts/{contact_id}/messages")[1]
            if m["from"] == "agent"]  # fmt: skip
    assert len(sent) == 1 and await page.locator("#toast").is_hidden()  # acked, no error
    left = await page.locator("[data-testid=composer]").input_value()
    assert left == "", f"the composer still holds the reply already sent: {left!r}"


HIDDEN_TAB = """
Object.defineProperty(Document.prototype, "hidden", {get() { return window.__hidden === true; }});
Object.defineProperty(Document.prototype, "visibilityState",
  {get() { return window.__hidden === true ? "hidden" : "visible"; }});
window.__shown = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__shown.push(title); }
  close() {}
};
"""


async def test_one_ringing_offer_notifies_once_while_the_tab_is_hidden(
    slow_engine: Engine, browser: Browser
) -> None:
    """ringing() runs every 250 ms and, every 2.5 s, closes the notification and makes a new
    one (requireInteraction): the agent's desktop pops the same offer up again and again."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann", init=HIDDEN_TAB)
    await page.evaluate("window.__hidden = true")
    engine.chat("chat-1", "jo@example.com")
    await page.locator("[data-testid=offer]").wait_for()
    await page.wait_for_timeout(8000)
    shown = await page.evaluate("window.__shown.length")
    assert shown == 1, f"one offer ringing 8 s made {shown} notifications"


async def test_unread_counts_every_message_while_the_tab_is_hidden(
    slow_engine: Engine, browser: Browser
) -> None:
    """A message to the selected contact counts as unread while the tab is hidden, but the
    panel's render zeroes the count right away: three messages show 1 (then nothing), and
    coming back to the tab changes nothing."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann", init=HIDDEN_TAB)
    contact_id = await connected_chat(page, engine)
    await page.evaluate("window.__hidden = true")
    for n in range(3):
        say(engine, contact_id, f"message {n}")
        await page.get_by_text(f"message {n}").wait_for()
    badge = page.locator("[data-testid=unread]")
    count = await badge.inner_text() if await badge.count() else "none"
    assert count == "3", f"3 messages while away from the tab show unread {count}"


async def test_customer_text_is_never_html(slow_engine: Engine, browser: Browser) -> None:
    """Held: every customer-controlled text (name, identities, attributes, messages, notes
    in the history) is shown as text."""
    engine = slow_engine
    payload = '<img src=x onerror="window.__pwned=1"><b id=injected>x</b>'
    page = await available_page(browser, engine, "ann")
    customer = {"email": "jo@example.com", "name": payload, "tier": "<b id=injected>t</b>"}
    for n in range(2):
        status, contact = engine.call("POST", "/v1/contacts", {
            "channel": "chat", "external_id": f"x-{n}", "customer": customer,
            "attributes": {"subject": payload, "nested": {"k": payload}, payload: payload},
        }, role=Role.ADAPTER)  # fmt: skip
        assert status == 201, contact
        await page.locator("[data-testid=offer]").wait_for()
        assert payload in await page.locator("[data-testid=offer]").inner_text()
        await page.locator("[data-testid=accept]").click()
        await page.locator(f"[data-testid=work-item][data-contact='{contact['id']}']").wait_for()
        if n == 1:  # the first contact's notes show in the history
            assert payload in await page.locator("[data-testid=history]").inner_text()
        say(engine, contact["id"], payload)
        await page.locator("[data-testid=message]", has_text="onerror").first.wait_for()
        await page.fill("[data-testid=notes]", payload)
        await page.click("[data-testid=complete]")
        await page.locator("[data-testid=wrap-up]").wait_for()
        await page.select_option("[data-testid=presence]", "away")
        await page.select_option("[data-testid=presence]", "available")
        await page.locator("[data-testid=work-item]").wait_for(state="detached")
    await page.wait_for_timeout(500)
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("#injected, .panel img, .offers img").count() == 0
