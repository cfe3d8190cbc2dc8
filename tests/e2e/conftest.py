"""A real `ccaas serve` (or two, on one Redis) and a real Chromium driven by Playwright.

Chromium is Debian's (`/usr/bin/chromium`); Playwright never downloads a browser here.
Screenshots go to CCAAS_TEST_ARTIFACTS (default: test-artifacts/ at the repository's root).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from ccaas.domain.roles import Role
from ccaas.runtime.embedded_redis import EmbeddedRedis
from tests.helpers import bearer
from tests.serve_processes import distinct_ports, serve_env, start_serve, stop

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
GRACE_SECONDS = 2  # the agent goes offline this long after its console closed
RULES = """
max_missed_offers: 2
wrap_up_codes: [resolved, escalated]
channels:
  chat: {capacity: 3}
queues:
  chat_help:
    channels: [chat]
    offer_timeout_seconds: 4
classification:
  - name: everything
    queue: chat_help
"""
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def artifacts() -> Path:
    folder = Path(os.environ.get("CCAAS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Engine:
    """The replicas of one tenant: their URLs, and admin and adapter calls to the first."""

    tenant: str
    urls: list[str]
    admin: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, role: Role = Role.ADMIN,
             replica: int = 0) -> tuple[int, Any]:  # fmt: skip
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **bearer(role, f"e2e-{role.value}",
                                                                 self.tenant)}  # fmt: skip
        request = urllib.request.Request(
            self.urls[replica] + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def agent(self, agent_id: str, password: str = "e2e-password") -> None:
        profile = {"name": agent_id.title(), "queues": ["chat_help"]}
        assert self.call("PUT", f"/v1/agents/{agent_id}", profile)[0] in (200, 201)
        status, _ = self.call("PUT", f"/v1/agents/{agent_id}/password", {"password": password})
        assert status == 200

    def chat(self, external_id: str, email: str) -> str:
        status, contact = self.call(
            "POST",
            "/v1/contacts",
            {"channel": "chat", "external_id": external_id, "customer": {"email": email}},
            role=Role.ADAPTER,
        )
        assert status == 201, contact
        return str(contact["id"])

    def wait(self, what: str, check: Any, seconds: float = 15.0) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if found := check():
                return found
            time.sleep(0.1)
        raise AssertionError(f"not within {seconds} s: {what}")


def _serve(
    redis_url: str, tenant: str, replicas: int, folder: Path, rules: str = RULES
) -> Iterator[Engine]:
    routing = folder / "routing.yaml"
    routing.write_text(rules)
    ports = distinct_ports(replicas)
    env = serve_env(redis_url, tenant, 0, routing) | {
        "CCAAS_AGENT_DISCONNECT_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    processes = [  # each its own folder: its own embedded broker
        start_serve(
            env | {"CCAAS_HTTP_PORT": str(port), "CCAAS_DATA_DIR": str(folder / f"var-{port}")}
        )
        for port in ports
    ]
    engine = Engine(tenant, [f"http://127.0.0.1:{port}" for port in ports])
    try:
        for url in engine.urls:
            engine.wait(f"{url} is healthy", lambda url=url: _healthy(url), 30)
        yield engine
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            stop(process)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def engine(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[Engine]:
    yield from _serve(redis_server.url, "e2e" + secrets.token_hex(3), 1, tmp_path)


@pytest.fixture
def two_replicas(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[Engine]:
    yield from _serve(redis_server.url, "e2e" + secrets.token_hex(3), 2, tmp_path)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(
    browser: Browser, url: str, agent_id: str, init: str = "", route: Any = None
) -> Page:
    """A console page at 1280x720, signed in as `agent_id`, its websocket connected; `init`
    is a script run before the page's own, `route` handles its websocket."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.grant_permissions(["notifications"], origin=url)
    if init:
        await context.add_init_script(init)
    page = await context.new_page()
    if route is not None:
        await page.route_web_socket(re.compile(r".*/v1/agent/ws.*"), route)
    await page.goto(url + "/console")
    await page.fill("#agent-id", agent_id)
    await page.fill("#password", "e2e-password")
    await page.click("#signin-button")
    await page.wait_for_selector("[data-testid=connection].connected")
    return page


async def eventually(what: str, check: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := await asyncio.to_thread(check):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


# the same centre, with a queue that rings 30 s and has a 60 s wrap-up
SLOW_RULES = RULES.replace("max_missed_offers: 2", "max_missed_offers: 5").replace(
    "offer_timeout_seconds: 4", "offer_timeout_seconds: 30\n    wrap_up_seconds: 60"
)


@pytest.fixture
def slow_engine(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[Engine]:
    """One `ccaas serve` whose queue rings 30 s and has a 60 s wrap-up."""
    yield from _serve(redis_server.url, "e2es" + secrets.token_hex(3), 1, tmp_path, SLOW_RULES)


async def available_page(
    browser: Browser,
    engine: Engine,
    agent_id: str,
    replica: int = 0,
    init: str = "",
    route: Any = None,
) -> Page:
    """A new agent's console on that replica, signed in, having made itself available."""
    engine.agent(agent_id)
    page = await signed_in(browser, engine.urls[replica], agent_id, init, route)
    await page.select_option("[data-testid=presence]", "available")
    await eventually(
        f"{agent_id} is available",
        lambda: engine.call("GET", f"/v1/agents/{agent_id}")[1]["presence"] == "available",
    )
    return page


async def connected_chat(page: Page, engine: Engine, external_id: str = "chat-1") -> str:
    contact_id = engine.chat(external_id, f"{external_id}@example.com")
    await page.locator("[data-testid=accept]").click()
    await page.locator(f"[data-testid=work-item][data-contact='{contact_id}']").wait_for()
    return contact_id


def say(engine: Engine, contact_id: str, text: str) -> None:
    status, _ = engine.call(
        "POST", f"/v1/contacts/{contact_id}/messages", {"text": text}, role=Role.ADAPTER
    )
    assert status == 201
