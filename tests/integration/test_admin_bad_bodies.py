"""Admin bodies that once got a 500: self-referring or deeply nested YAML, odd versions."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.clock import ManualClock
from ccaas.domain.rules.text import parse_rules
from tests.helpers import MONDAY_10AM, RULES, MakeApi


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(parse_rules(RULES, "r"), clock=ManualClock(MONDAY_10AM))


BASE = "queues:\n  billing: {channels: [voice, chat]}\n"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/admin/rules/validate", "x: &a [*a]\n" + BASE),  # self-referencing alias
        ("/v1/admin/rules", "x: &a [*a]\n" + BASE),
        ("/v1/admin/rules/validate", "x: " + "[" * 3000 + "]" * 3000 + "\n" + BASE),  # deep nesting
    ],
    ids=["validate-recursive-alias", "put-recursive-alias", "validate-deep-nesting"],
)
async def test_bad_yaml_gets_a_4xx(api: TestClient, path: str, body: str) -> None:
    method = api.put if path == "/v1/admin/rules" else api.post
    response = await method(path, data=body)
    assert response.status in (400, 422), (response.status, (await response.text())[:200])


async def test_rollback_to_a_non_ascii_digit_gets_a_4xx(api: TestClient) -> None:
    response = await api.post("/v1/admin/rules/rollback/%C2%B2")  # "²".isdigit() is True
    assert response.status in (404, 422), (response.status, (await response.text())[:200])


async def test_rollback_to_a_5000_digit_version_gets_a_4xx(api: TestClient) -> None:
    response = await api.post("/v1/admin/rules/rollback/" + "9" * 5000)
    assert response.status in (404, 422), (response.status, (await response.text())[:200])
