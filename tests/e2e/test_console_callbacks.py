"""A callback in the agent's console: the card says whom to call back, and "No answer" frees
the agent and schedules the callback again, in its place."""

from __future__ import annotations

from playwright.async_api import Browser

from ccaas.domain.roles import Role
from tests.e2e.conftest import Engine, artifacts, available_page, eventually


async def test_the_agent_calls_back_and_reports_no_answer(engine: Engine, browser: Browser) -> None:
    contact_id = engine.chat("chat-cb", "jo@example.com")
    status, _ = engine.call(
        "POST", f"/v1/contacts/{contact_id}/callback", {"number": "+442079460010"},
        role=Role.ADAPTER,
    )  # fmt: skip
    assert status == 201
    page = await available_page(browser, engine, "ann")
    offer = page.locator("[data-testid=offer]")
    await offer.wait_for()
    assert "Call back +442079460010" in await offer.inner_text()
    await page.locator("[data-testid=accept]").click()
    callback = page.locator("[data-testid=callback]")
    await callback.filter(has_text="Call the customer back on +442079460010").wait_for()
    await page.screenshot(path=str(artifacts() / "console-callback.png"))
    await page.locator("[data-testid=callback-no_answer]").click()
    await page.locator("[data-testid=work-item]").wait_for(state="detached")
    contact = await eventually(
        "the callback waits to be tried again",
        lambda: (
            (c := engine.call("GET", f"/v1/contacts/{contact_id}")[1])["state"] == "scheduled" and c
        ),
    )
    assert contact["callback_attempts"] == 1 and contact["callback_outcome"] == "no_answer"
