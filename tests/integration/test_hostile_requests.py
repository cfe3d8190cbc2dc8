"""Requests a hostile client sends get a clear 4xx and change nothing (found by review)."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.helpers import TEST_CONFIG, MakeApi, data_keys, dump


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


async def test_an_agent_id_ending_in_a_newline_is_refused(api: TestClient, redis: Redis) -> None:
    before = await dump(redis)
    response = await api.put("/v1/agents/zz%0A", json={"name": "NL"})
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "id"
    assert await dump(redis) == before


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/customers/u1/timeline"])
async def test_a_limit_of_thousands_of_digits_is_refused_naming_it(
    api: TestClient, path: str
) -> None:
    response = await api.get(path, params={"limit": "9" * 5000})
    assert response.status == 422
    problem = await response.json()
    assert "limit must be a whole number" in problem["detail"]
    assert problem["errors"][0]["field"] == "limit"


@pytest.mark.parametrize(
    "customer", [{"customer_id": "\ud800"}, {"visitor": "v\ud800"}, {"login": "\udfff"}]
)
async def test_a_lone_surrogate_in_a_body_is_refused_and_stores_nothing(
    api: TestClient, redis: Redis, customer: dict[str, str]
) -> None:
    # json.dumps writes a lone surrogate as the escape \ud800, as a hostile client may
    body = json.dumps({"channel": "chat", "external_id": "s1", "customer": customer})
    response = await api.post(
        "/v1/contacts", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    assert "surrogate" in (await response.json())["detail"]
    assert await data_keys(redis) == []


async def test_following_the_link_header_lists_every_agent_once_in_order(api: TestClient) -> None:
    for n in range(7):
        assert (await api.put(f"/v1/agents/a.{n}-x_y", json={"name": f"A{n}"})).status == 201
    seen: list[str] = []
    url: str | None = "/v1/agents?limit=3"
    while url is not None:
        response = await api.get(url)
        seen += [agent["id"] for agent in await response.json()]
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7
