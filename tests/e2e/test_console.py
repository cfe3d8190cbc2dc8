"""The agent console in a real Chromium against real `ccaas serve` processes: an offer rings
with a countdown and is accepted, the conversation flows both ways without a reload, the
contact is completed with a wrap-up code; an offer left alone rings out and the agent is set
away; two replicas each deliver only their own agent's offers; a closed page sets the agent
offline after the grace and reopening restores the work."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser

from ccaas.domain.roles import Role
from tests.e2e.conftest import (
    GRACE_SECONDS,
    Engine,
    artifacts,
    available_page,
    eventually,
    signed_in,
)


def _work_of(engine: Engine, agent_id: str) -> list[dict]:
    return engine.call("GET", f"/v1/agents/{agent_id}")[1]["work"]


async def test_an_agent_takes_a_chat_from_offer_to_completion(
    engine: Engine, browser: Browser
) -> None:
    page = await available_page(browser, engine, "ann")
    contact_id = engine.chat("chat-1", "jo@example.com")
    offer = page.locator("[data-testid=offer]")
    await offer.wait_for()
    first = await page.locator("[data-testid=countdown]").inner_text()
    await asyncio.sleep(1.3)
    later = await page.locator("[data-testid=countdown]").inner_text()
    assert later < first, f"the countdown did not run: {first} then {later}"
    assert "jo@example.com" in await offer.inner_text()
    await offer.screenshot(path=str(artifacts() / "offer-card.png"))
    await page.keyboard.press("a")  # accept from the keyboard
    await page.locator("[data-testid=work-item]").wait_for()
    await offer.wait_for(state="detached")
    status, _ = engine.call(
        "POST", f"/v1/contacts/{contact_id}/messages", {"text": "my bill is wrong"},
        role=Role.ADAPTER,
    )  # fmt: skip
    assert status == 201
    await page.get_by_text("my bill is wrong").wait_for()  # no reload
    await page.fill("[data-testid=composer]", "let me look at it")
    await page.press("[data-testid=composer]", "Enter")
    await page.get_by_text("let me look at it").wait_for()
    messages = await eventually(
        "the reply is in the conversation",
        lambda: [
            m
            for m in engine.call("GET", f"/v1/contacts/{contact_id}/messages")[1]
            if m["from"] == "agent"
        ],
    )
    assert messages[0]["text"] == "let me look at it" and messages[0]["agent_id"] == "ann"
    await page.screenshot(path=str(artifacts() / "connected-chat.png"))
    await page.select_option("[data-testid=wrap-up-code]", "resolved")
    await page.fill("[data-testid=notes]", "explained the fee")
    await page.click("[data-testid=complete]")
    await page.locator("[data-testid=work-item]").wait_for(state="detached")
    contact = engine.call("GET", f"/v1/contacts/{contact_id}")[1]
    assert (contact["state"], contact["disposition"]) == ("completed", "resolved")
    timeline = engine.call("GET", f"/v1/customers/{contact['customer_id']}/timeline")[1]
    entry = next(i for i in timeline["items"] if i["contact_id"] == contact_id)
    assert entry["state"] == "completed" and entry["notes"] == "explained the fee"


async def test_an_offer_left_alone_rings_out_and_the_agent_is_set_away(
    engine: Engine, browser: Browser
) -> None:
    page = await available_page(browser, engine, "ann")
    engine.chat("chat-1", "jo@example.com")
    offers = page.locator("[data-testid=offer]")
    await offers.wait_for()
    first_offer = await offers.get_attribute("data-offer")
    ringing = page.locator(f"[data-offer='{first_offer}']")
    await ringing.wait_for(state="detached", timeout=10_000)  # rang out after 4 s
    await page.wait_for_function(
        "id => [...document.querySelectorAll('[data-testid=offer]')]"
        ".some(o => o.dataset.offer !== id)",
        arg=first_offer,
        timeout=10_000,
    )  # offered again: the only agent
    await page.locator("[data-testid=presence-note]", has_text="no answer").wait_for(timeout=15_000)
    assert await page.locator("[data-testid=presence]").input_value() == "away"
    assert await page.locator("[data-testid=offer]").count() == 0
    agent = engine.call("GET", "/v1/agents/ann")[1]
    assert (agent["presence"], agent["away_reason"]) == ("away", "no answer")


async def test_two_agents_on_two_replicas_each_see_only_their_own_offers(
    two_replicas: Engine, browser: Browser
) -> None:
    engine = two_replicas
    ann = await available_page(browser, engine, "ann", replica=0)
    bob = await available_page(browser, engine, "bob", replica=1)
    for n in range(4):
        engine.chat(f"chat-{n}", f"c{n}@example.com")
    for name, page in (("ann", ann), ("bob", bob)):
        expected = await eventually(
            f"{name} is offered something",
            lambda name=name: {w["contact_id"] for w in _work_of(engine, name)},
        )
        await page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=offer]').length === n",
            arg=len(expected),
        )
        shown = {
            await card.get_attribute("data-offer")
            for card in await page.locator("[data-testid=offer]").all()
        }
        assert {offer.split(".")[0] for offer in shown if offer} == expected


async def test_a_closed_page_goes_offline_after_the_grace_and_reopening_restores_the_work(
    engine: Engine, browser: Browser
) -> None:
    page = await available_page(browser, engine, "ann")
    contact_id = engine.chat("chat-1", "jo@example.com")
    await page.locator("[data-testid=accept]").click()
    await page.locator("[data-testid=work-item]").wait_for()
    await page.context.close()
    await asyncio.sleep(GRACE_SECONDS / 2)
    assert engine.call("GET", "/v1/agents/ann")[1]["presence"] == "available"  # within grace
    await eventually(
        "ann is offline after the grace",
        lambda: engine.call("GET", "/v1/agents/ann")[1]["presence"] == "offline",
        GRACE_SECONDS + 10,
    )
    again = await signed_in(browser, engine.urls[0], "ann")
    item = again.locator(f"[data-testid=work-item][data-contact='{contact_id}']")
    await item.wait_for()
    assert await again.locator("[data-testid=presence]").input_value() == "offline"
