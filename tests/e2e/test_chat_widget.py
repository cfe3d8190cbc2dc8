"""The customer's web chat in a real Chromium against real `ccaas serve`: a customer opens
/chat, sees their place in the queue change, an agent in /console accepts, messages go both
ways, the customer ends the chat and the agent sees they left."""

from __future__ import annotations

from playwright.async_api import Browser

from ccaas.domain.roles import Role
from tests.e2e.conftest import Engine, artifacts, available_page, eventually


async def test_a_customer_chats_from_the_widget_with_an_agent_in_the_console(
    engine: Engine, browser: Browser
) -> None:
    ahead = engine.chat("chat-ahead", "first@example.com")  # someone waits already
    context = await browser.new_context(viewport={"width": 420, "height": 640})
    customer = await context.new_page()
    await customer.goto(engine.urls[0] + "/chat")
    await customer.fill("[data-testid=chat-name]", "Jo")
    await customer.fill("[data-testid=chat-first]", "My bill is wrong")
    await customer.click("[data-testid=chat-start]")
    status = customer.locator("[data-testid=chat-status]")
    await status.filter(has_text="You are 2nd").wait_for()
    await customer.locator("[data-testid=chat-message]", has_text="My bill is wrong").wait_for()
    await customer.screenshot(path=str(artifacts() / "chat-waiting.png"))
    assert engine.call("DELETE", f"/v1/contacts/{ahead}", role=Role.ADAPTER)[0] == 200
    await status.filter(has_text="You are next").wait_for()  # pushed, no reload
    agent = await available_page(browser, engine, "ann")
    offer = agent.locator("[data-testid=offer]")
    await offer.wait_for()
    assert "My bill is wrong" in await offer.inner_text()
    await agent.locator("[data-testid=accept]").click()
    await status.filter(has_text="You are chatting with Ann").wait_for()
    await agent.fill("[data-testid=composer]", "Hi Jo, let me look")
    await agent.press("[data-testid=composer]", "Enter")
    await customer.locator("[data-testid=chat-message]", has_text="Hi Jo, let me look").wait_for()
    await customer.fill("[data-testid=chat-text]", "Thanks!")
    await customer.press("[data-testid=chat-text]", "Enter")
    await agent.get_by_text("Thanks!").wait_for()
    await customer.screenshot(path=str(artifacts() / "chat-connected.png"))
    await customer.click("[data-testid=chat-end]")
    await status.filter(has_text="You ended the chat").wait_for()
    await agent.locator("[data-testid=work-item]", has_text="(left)").wait_for()
    contacts = engine.call("GET", "/v1/agents/ann")[1]["work"]
    (held,) = contacts
    contact = await eventually(
        "the contact says the customer left",
        lambda: engine.call("GET", f"/v1/contacts/{held['contact_id']}")[1].get("customer_left_at"),
    )
    assert contact
