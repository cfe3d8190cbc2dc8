"""Erasure reaches the disk: Redis's files hold no erased value afterwards, and are private."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from ccaas.router.service import Router
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.runtime.engine import create_app
from ccaas.store.client import connect
from ccaas.web.services import SERVICES
from tests.helpers import TEST_CONFIG, TEST_SECRET, bearer

PERSONAL = {
    "name": "Zebedee Quuxington",
    "phone": "020 7946 0123",
    "email": "zebedee.q@example.org",
}
# what would identify the person, as stored: the phone in E.164, each other value as given
ON_DISK = [
    "Quuxington",
    "2079460123",
    "zebedee.q@example.org",
    "ACCT-998877",
    "call-zq-55501",
    "refund of 4711",
    "card 4929000011112222",
]


@pytest.fixture
async def disk(tmp_path: Path) -> AsyncIterator[tuple[Path, TestClient]]:
    """An API on its own redis-server that keeps an append-only file under tmp/var/redis."""
    data_dir = tmp_path / "var" / "redis"
    server = EmbeddedRedis(data_dir, appendonly=True)
    await server.start()
    app = create_app(
        server.url, TEST_CONFIG, signing_secret=TEST_SECRET, tenant="t1", run_router=False
    )
    client = TestClient(TestServer(app), headers=bearer())
    try:
        await client.start_server()
        yield data_dir, client
    finally:
        await client.close()
        server.stop()


def on_disk(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data_dir.rglob("*")) if path.is_file())


async def found_after(data_dir: Path, values: list[str], seconds: float = 15.0) -> list[str]:
    """The values still on disk once they are gone or `seconds` have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        everything = on_disk(data_dir)
        found = [value for value in values if value.encode() in everything]
        if not found or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def a_served_customer(api: TestClient) -> tuple[str, str]:
    """A call from the customer, answered, completed with notes, its email body kept:
    (customer id, contact id)."""
    agent = {"name": "Ann", "skills": {}, "queues": ["billing"]}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    call: dict[str, Any] = {
        "channel": "voice",
        "external_id": "call-zq-55501",
        "queue": "billing",
        "customer": PERSONAL,
        "attributes": {"account": "ACCT-998877"},
    }
    created = await api.post("/v1/contacts", json=call)
    assert created.status == 201, await created.text()
    contact = await created.json()
    (offer,) = await Router(api.app[SERVICES].ctx).route_once()
    accepted = await api.post(f"/v1/offers/{offer.offer_id}/accept", json={"agent_id": "ann"})
    assert accepted.status == 200
    done = {"agent_id": "ann", "disposition": "resolved", "notes": "promised a refund of 4711"}
    assert (await api.post(f"/v1/contacts/{contact['id']}/complete", json=done)).status == 200
    body = await api.put(
        f"/v1/contacts/{contact['id']}/body?kind=email", data="Dear team, my card 4929000011112222"
    )
    assert body.status == 200
    return contact["customer_id"], contact["id"]


async def test_after_erasure_no_file_of_redis_holds_an_erased_value(
    disk: tuple[Path, TestClient],
) -> None:
    data_dir, api = disk
    customer_id, _ = await a_served_customer(api)
    values = [*ON_DISK, customer_id]
    assert await found_after(data_dir, values, seconds=0) == values  # it is all on disk
    assert (await api.delete(f"/v1/customers/{customer_id}")).status == 200
    assert await found_after(data_dir, values) == []


async def test_erasures_arriving_together_are_rewritten_once(
    disk: tuple[Path, TestClient],
) -> None:
    data_dir, api = disk
    customers = []
    for n in range(5):
        chat = {
            "channel": "chat",
            "external_id": f"chat-{n}",
            "queue": "billing",
            "customer": {"name": f"Person {n}", "email": f"person{n}@example.org"},
        }
        created = await api.post("/v1/contacts", json=chat)
        customers.append((await created.json())["customer_id"])
    with capture_logs() as logs:
        for customer_id in customers:
            assert (await api.delete(f"/v1/customers/{customer_id}")).status == 200
        assert await found_after(data_dir, [f"Person {n}" for n in range(5)]) == []
        await asyncio.sleep(1.5)  # time for a second rewrite, were there one
    rewrites = [log for log in logs if log["event"] == "erasure_rewritten"]
    assert [log["erasures"] for log in rewrites] == [5]


async def test_the_data_folder_and_redis_files_are_private(tmp_path: Path) -> None:
    fresh = EmbeddedRedis(tmp_path / "var" / "redis", appendonly=True)
    older = tmp_path / "old" / "redis"  # what an older version left: 0755, a 0644 AOF
    older.mkdir(parents=True)
    older.chmod(0o755)
    (older / "appendonly.aof").write_bytes(b"")
    (older / "appendonly.aof").chmod(0o644)
    for server in (fresh, EmbeddedRedis(older, appendonly=True)):
        await server.start()
        server.stop()
    found = modes(tmp_path)
    assert {found[name] for name in ("var", "var/redis", "old/redis")} == {"0o700"}
    files = {name: mode for name, mode in found.items() if (tmp_path / name).is_file()}
    assert {"var/redis/appendonly.aof", "var/redis/redis.log", "old/redis/appendonly.aof"} <= set(
        files
    )
    assert files == dict.fromkeys(files, "0o600")


def modes(root: Path) -> dict[str, str]:
    """The permissions of everything under `root`, by relative path."""
    return {
        str(path.relative_to(root)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in root.rglob("*")
    }


async def test_a_redis_that_refuses_the_rewrite_is_named_in_the_log(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    await server.start()
    admin = connect(server.url)
    # an operator's Redis whose ccaas user may not rewrite files nor read the config
    await admin.execute_command(
        "ACL", "SETUSER", "ccaas", "on", ">secret", "~*", "&*", "+@all", "-bgrewriteaof",
        "-bgsave", "-config",
    )  # fmt: skip
    app = create_app(
        server.url.replace("//", "//ccaas:secret@"),
        TEST_CONFIG,
        signing_secret=TEST_SECRET,
        tenant="t1",
        run_router=False,
    )
    api = TestClient(TestServer(app), headers=bearer())
    try:
        await api.start_server()
        with capture_logs() as logs:
            customer_id, _ = await a_served_customer(api)
            assert (await api.delete(f"/v1/customers/{customer_id}")).status == 200
            for _ in range(100):
                refused = [log for log in logs if log["event"] == "erasure_rewrite_refused"]
                if refused:
                    break
                await asyncio.sleep(0.05)
        assert refused and "bgrewriteaof" in refused[0]["error"].lower(), logs
        assert refused[0]["log_level"] == "error" and refused[0]["erasures"] == 1
    finally:
        await api.close()
        await admin.aclose()
        server.stop()
