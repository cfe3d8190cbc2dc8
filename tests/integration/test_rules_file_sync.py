"""The watched routing file shows the rules in force: PUT and rollback write it back, and a
save edited from an older version than the one in force is refused and shown to admins."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from structlog.testing import capture_logs

from ccaas.domain.rules.text import parse_rules
from ccaas.store.context import StoreContext
from ccaas.store.rules_store import publish_text
from tests.helpers import MakeApi

V1 = """\
queues:
  billing: {channels: [voice, chat]}
classification:
  - {name: default, queue: billing}
"""
V2 = V1.replace("[voice, chat]", "[voice, chat, email]")
HEADER = (
    "# ccaas rules version {} (written by ccaas: keep this line, a save is checked against it)\n"
)


def with_header(version: int, body: str) -> str:
    return HEADER.format(version) + body


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    path.chmod(0o640)
    return path


@pytest.fixture
async def api(make_api: MakeApi, routing_file: Path) -> TestClient:
    return await make_api(parse_rules(V1, str(routing_file)), rules_file=routing_file)


def read(path: Path) -> str:
    return path.read_text()


def save(path: Path, text: str) -> None:
    """As an editor saves: the file's text replaced in place."""
    path.write_text(text)


def mode_and_folder(path: Path) -> tuple[int, list[str]]:
    return stat.S_IMODE(path.stat().st_mode), sorted(p.name for p in path.parent.iterdir())


async def until(check: Callable[[], Awaitable[Any]], seconds: float = 5) -> Any:
    """The first truthy answer of `check`, polled for up to `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not so after {seconds} s")


async def rules(api: TestClient) -> dict[str, Any]:
    response = await api.get("/v1/admin/rules")
    assert response.status == 200
    answer: dict[str, Any] = await response.json()
    return answer


async def file_shows(path: Path, version: int, body: str) -> bool:
    text = read(path)
    return text.startswith(f"# ccaas rules version {version} (") and text == with_header(
        version, body
    )


async def test_put_and_rollback_write_the_rules_in_force_back_to_the_file(
    api: TestClient, routing_file: Path
) -> None:
    assert (await api.put("/v1/admin/rules", data=V2)).status == 201
    await until(lambda: file_shows(routing_file, 2, V2))
    assert mode_and_folder(routing_file) == (0o640, ["routing.yaml"])  # its mode, no temp file
    again = await api.put("/v1/admin/rules", data=read(routing_file))  # the file as it is now
    answer = await again.json()  # the version line is no change
    assert (again.status, answer["version"], answer["changed"]) == (200, 2, False)
    assert (await api.post("/v1/admin/rules/rollback/1")).status == 201
    await until(lambda: file_shows(routing_file, 3, V1))
    await asyncio.sleep(0.6)  # the watcher has seen the write-backs by now
    versions = await (await api.get("/v1/admin/rules/versions")).json()
    assert [v["version"] for v in versions] == [3, 2, 1]  # a write-back is not a new version
    assert (await rules(api))["last_rejected"] is None


async def test_a_save_edited_from_an_older_version_is_refused_logged_and_shown(
    api: TestClient, make_api: MakeApi, routing_file: Path
) -> None:
    opened = read(routing_file)  # an admin opens the file: version 1
    assert (await api.put("/v1/admin/rules", data=V2)).status == 201  # meanwhile, the API
    await until(lambda: file_shows(routing_file, 2, V2))
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        save(routing_file, opened.replace("default", "everyone"))  # the admin saves
        rejected = await until(lambda: _last_rejected(api))
    assert (await rules(api))["version"] == 2  # the API's version stays in force
    assert (rejected["file"], rejected["version_in_force"], rejected["based_on"]) == (
        str(routing_file),
        2,
        1,
    )
    assert "edited from rules version 1" in rejected["errors"][0]["message"]
    assert rejected["yaml"] == opened.replace("default", "everyone")
    [stale] = [e for e in logs if e["event"] == "rules_file_stale"]
    assert (stale["file"], stale["version_in_force"], stale["based_on"]) == (
        str(routing_file),
        2,
        1,
    )
    other_replica = await make_api(parse_rules(V1, "other"))
    assert (await rules(other_replica))["last_rejected"] == rejected
    # the same edit made on version 2, keeping its first line, is accepted
    save(routing_file, with_header(2, V2).replace("default", "everyone"))
    assert (await until(lambda: _version_is(api, 3)))["yaml"] == V2.replace("default", "everyone")


async def test_a_broken_file_save_shows_in_last_rejected(
    api: TestClient, routing_file: Path
) -> None:
    save(routing_file, V1 + "    when: contact.channel ==\n")
    rejected = await until(lambda: _last_rejected(api))
    assert rejected["errors"][0]["line"] == 5
    assert "not valid YAML" in rejected["errors"][0]["message"]
    assert (await rules(api))["version"] == 1


async def _last_rejected(api: TestClient) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await rules(api))["last_rejected"]
    return found


async def _version_is(api: TestClient, version: int) -> dict[str, Any] | None:
    current = await rules(api)
    return current if current["version"] == version else None


async def test_a_replica_whose_file_is_an_old_copy_starts_on_the_rules_in_force_and_updates_it(
    make_api: MakeApi, redis: Redis, tmp_path: Path
) -> None:
    ctx = StoreContext.create(redis, "t1", parse_rules(V1, "f"))
    await publish_text(ctx, V1, "file")
    await publish_text(ctx, V2, "api")  # made while this replica was down
    own = tmp_path / "own" / "routing.yaml"
    own.parent.mkdir()
    save(own, with_header(1, V1))  # its own file, as it last wrote it
    api = await make_api(parse_rules(V1, str(own)), rules_file=own)
    await until(lambda: file_shows(own, 2, V2))
    current = await rules(api)
    assert (current["version"], current["last_rejected"]) == (2, None)
