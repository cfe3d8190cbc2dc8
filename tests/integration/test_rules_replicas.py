"""Two `ccaas serve` processes on one Redis follow one rules version: API, file edits, rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from ccaas.domain.rules.file_header import with_header
from ccaas.domain.rules.text import parse_rules
from ccaas.runtime.embedded_redis import EmbeddedRedis, free_port
from ccaas.store.context import StoreContext
from ccaas.store.rules_store import publish_text
from tests.helpers import bearer
from tests.serve_processes import distinct_ports, serve_env, start_serve, stop

TENANT = "replicas"
V1 = """
queues:
  billing: {channels: [voice, chat]}
classification:
  - name: default
    queue: billing
"""
V2 = V1 + "  # second version\n"
BROKEN = V1 + "    when: contact.channel ==\n"  # line 7: does not compile


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    return path


@pytest.fixture
def replicas(redis_server: EmbeddedRedis, routing_file: Path) -> Iterator[list[str]]:
    ports = distinct_ports(2)
    processes = [
        start_serve(serve_env(redis_server.url, TENANT, port, routing_file)) for port in ports
    ]
    yield [f"http://127.0.0.1:{port}" for port in ports]
    for process in processes:
        process.terminate()
    codes = [stop(process) for process in processes]
    assert codes == [0, 0], "a replica did not stop cleanly"


async def versions_seen(session: aiohttp.ClientSession, urls: list[str]) -> list[int | None]:
    seen: list[int | None] = []
    for url in urls:
        try:
            async with session.get(f"{url}/healthz") as response:
                seen.append((await response.json())["rules_version"])
        except aiohttp.ClientError:
            seen.append(None)
    return seen


async def wait_for_versions(
    session: aiohttp.ClientSession, urls: list[str], version: int, seconds: float = 15
) -> None:
    seen: list[int | None] = []
    for _ in range(int(seconds / 0.05)):
        seen = await versions_seen(session, urls)
        if seen == [version] * len(urls):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"replicas run versions {seen}, expected {version} on each")


async def wait_for_file(path: Path, header: str, body: str, seconds: float = 10) -> None:
    """Until the file shows `header` then `body` (the rules in force written back)."""
    text = ""
    for _ in range(int(seconds / 0.05)):
        text = path.read_text()  # noqa: ASYNC240 -- a small file, read while polling
        if text.startswith(header) and text.endswith("\n" + body.lstrip("\n")):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the file shows {text!r}, expected {header!r} and the rules in force")


async def test_replicas_switch_together_and_refuse_bad_rules(
    replicas: list[str], routing_file: Path
) -> None:
    first, second = replicas
    async with aiohttp.ClientSession(headers=bearer(tenant=TENANT)) as session:
        await wait_for_versions(session, replicas, 1)  # the file, published once

        async with session.put(f"{first}/v1/admin/rules", data=V2) as response:
            assert response.status == 201, await response.text()
            assert (await response.json())["version"] == 2
        await wait_for_versions(session, replicas, 2)
        await wait_for_file(routing_file, "# ccaas rules version 2", V2)

        async with session.put(f"{second}/v1/admin/rules", data=BROKEN) as response:
            assert response.status == 422
            problem = await response.json()
        assert problem["errors"][0]["line"] == 7
        assert "does not compile" in problem["errors"][0]["message"]

        routing_file.write_text(BROKEN)  # noqa: ASYNC240 -- a bad save: logged, ignored by both
        await asyncio.sleep(1.5)
        assert await versions_seen(session, replicas) == [2, 2]

        edited = with_header(2, V2).replace("[voice, chat]", "[voice, chat, email]")
        routing_file.write_text(edited)  # noqa: ASYNC240 -- an edit of version 2, as the file shows it
        await wait_for_versions(session, replicas, 3)  # one save, one version

        async with session.post(f"{second}/v1/admin/rules/rollback/1") as response:
            assert response.status == 201
            assert (await response.json())["rolled_back_to"] == 1
        await wait_for_versions(session, replicas, 4)
        await wait_for_file(routing_file, "# ccaas rules version 4", V1)
        async with session.get(f"{first}/v1/admin/rules") as response:
            current = await response.json()
        assert (current["version"], current["yaml"]) == (4, V1)
        async with session.get(f"{first}/v1/admin/rules/versions") as response:
            listed = await response.json()
        assert [(v["version"], v["source"]) for v in listed] == [
            (4, "rollback"),
            (3, "file"),
            (2, "api"),
            (1, "file"),
        ]


async def test_a_replica_starts_on_the_version_in_force_when_the_file_is_broken(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path
) -> None:
    ctx = StoreContext.create(redis, TENANT, parse_rules(V1, "v1"))
    await publish_text(ctx, V2, "api")
    broken = tmp_path / "routing.yaml"
    broken.write_text(BROKEN)
    port = free_port()
    process = start_serve(serve_env(redis_server.url, TENANT, port, broken), capture=True)
    try:
        async with aiohttp.ClientSession(headers=bearer(tenant=TENANT)) as session:
            await wait_for_versions(session, [f"http://127.0.0.1:{port}"], 1)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=40)  # serve itself gives up after 20 s
    assert process.returncode == 0, stderr[-3000:]
    assert "rules_file_rejected" in stderr
