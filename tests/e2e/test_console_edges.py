"""The console page's edges: unread badges on coming back to the tab, End wrap-up keeping the
presence chosen for then, signing in again after the token expired, an erasure in wrap-up."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, WebSocketRoute

from tests.e2e.conftest import Engine, available_page, connected_chat, eventually, say
from tests.e2e.test_console_attacks import HIDDEN_TAB


async def test_coming_back_to_the_tab_clears_the_selected_contacts_unread_badge(
    slow_engine: Engine, browser: Browser
) -> None:
    """render() draws the work list before renderPanel zeroes the selected contact's unread
    count, so back on the tab the badge of the contact on screen keeps showing 2."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann", init=HIDDEN_TAB)
    contact_id = await connected_chat(page, engine)
    await page.evaluate("window.__hidden = true")
    for n in range(2):
        say(engine, contact_id, f"message {n}")
        await page.get_by_text(f"message {n}").wait_for()
    assert await page.locator("[data-testid=unread]").inner_text() == "2"
    await page.evaluate(
        "window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))"
    )
    await page.wait_for_timeout(500)
    left = await page.locator("[data-testid=unread]").count()
    assert left == 0, "the contact the agent is reading still shows 2 unread"


async def test_end_wrap_up_keeps_the_presence_chosen_for_when_the_work_ends(
    slow_engine: Engine, browser: Browser
) -> None:
    """The agent chose 'offline when the work ends', completed, and pressed End wrap-up:
    the button sends presence=available, which replaces the choice, so the agent is made
    available and is offered new work instead of going offline."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann")
    await connected_chat(page, engine)
    await page.select_option("[data-testid=next-presence]", "offline:")
    await eventually(
        "ann chose offline for later",
        lambda: (
            (engine.call("GET", "/v1/agents/ann")[1].get("next_presence") or {}).get("presence")
            == "offline"
        ),
    )
    await page.click("[data-testid=complete]")
    await page.locator("[data-testid=end-wrap-up]").click()
    await page.locator("[data-testid=work-item]").wait_for(state="detached")
    presence = engine.call("GET", "/v1/agents/ann")[1]["presence"]
    assert presence == "offline", f"End wrap-up left ann {presence}, not the offline she chose"


async def test_signing_in_again_after_4003_shows_the_work_still_held(
    slow_engine: Engine, browser: Browser
) -> None:
    """The server closes an expired token's socket with 4003; the page signs out (clearing
    offers and work) but keeps state.lastSeq, so after signing in again it resumes from that
    seq instead of taking a snapshot: the contact the agent still holds is not shown."""
    engine = slow_engine
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page = await available_page(browser, engine, "ann", route=route)
    contact_id = await connected_chat(page, engine)
    await sockets[-1].close(code=4003, reason="sign in again")  # as _expired does
    await page.locator("#signin-form").wait_for()
    await page.fill("#agent-id", "ann")
    await page.fill("#password", "e2e-password")
    await page.click("#signin-button")
    await page.wait_for_selector("[data-testid=connection].connected")
    await page.wait_for_timeout(1000)
    held: Any = engine.call("GET", "/v1/agents/ann")[1]
    shown = await page.locator(f"[data-testid=work-item][data-contact='{contact_id}']").count()
    url = await page.evaluate("state.lastSeq")
    assert shown == 1, (
        f"ann holds {contact_id} ({held.get('presence')}) but the page shows nothing "
        f"(it resumed from lastSeq={url!r})"
    )


async def test_an_erasure_during_wrap_up_keeps_the_wrap_up_countdown(
    slow_engine: Engine, browser: Browser
) -> None:
    """The `card` frame replaces the work item with the new card, which has no
    wrap_up_remaining_ms: the 60 s wrap-up countdown drops to 0:00 at once."""
    engine = slow_engine
    page = await available_page(browser, engine, "ann")
    contact_id = await connected_chat(page, engine)
    await page.click("[data-testid=complete]")
    countdown = page.locator("[data-testid=wrap-up-countdown]")
    await countdown.wait_for()
    customer_id = engine.call("GET", f"/v1/contacts/{contact_id}")[1]["customer_id"]
    assert engine.call("DELETE", f"/v1/customers/{customer_id}")[0] == 200
    await page.get_by_text("unknown customer").first.wait_for()  # the card frame came
    await page.wait_for_timeout(600)
    shown = await countdown.inner_text()
    assert shown != "0:00", f"a 60 s wrap-up shows {shown} after the erasure"
