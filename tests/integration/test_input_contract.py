"""The input contract as a client meets it: JSON every parser reads alike, the body's media
type, parameters named when wrong, and every refusal (aiohttp's own too) as problem+json."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.helpers import TEST_CONFIG, MakeApi, data_keys, dump

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


def _contact(attributes: str) -> bytes:
    return b'{"channel": "chat", "external_id": "j1", "queue": "billing", ' + attributes.encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_contact('"attributes": {"amount": 1e400}}'), "attributes.amount"),
        (_contact('"attributes": {"amount": -1e999}}'), "attributes.amount"),
        (_contact('"attributes": {"amount": NaN}}'), "attributes.amount"),
        (_contact('"attributes": {"amount": Infinity}}'), "attributes.amount"),
        (_contact('"attributes": {"id": 9007199254740993}}'), "attributes.id"),
        (_contact('"attributes": {"ids": [1, -9007199254740992]}}'), "attributes.ids.1"),
        (_contact('"attributes": {"a": 1, "a": 2}}'), "attributes.a"),
        (_contact('"customer": {"login": "jo", "extras": {"n": 1e400}}}'), "customer.extras.n"),
        (b'{"channel": "chat", "channel": "voice", "external_id": "j1"}', "channel"),
    ],
)
async def test_json_that_parsers_read_differently_is_refused_naming_the_field(
    api: TestClient, redis: Redis, body: bytes, field: str
) -> None:
    response = await api.post("/v1/contacts", data=body, headers=JSON)
    assert response.status == 422, await response.text()
    assert response.content_type == "application/problem+json"
    assert field in [error["field"] for error in (await response.json())["errors"]]
    assert await data_keys(redis) == []


async def test_integers_are_kept_up_to_the_largest_a_double_holds_exactly(
    api: TestClient,
) -> None:
    beyond = _contact('"attributes": {"id": 9007199254740992}}')
    assert (await api.post("/v1/contacts", data=beyond, headers=JSON)).status == 422
    body = _contact('"attributes": {"id": 9007199254740991, "amount": 1.5e300}}')
    response = await api.post("/v1/contacts", data=body, headers=JSON)
    assert response.status == 201, await response.text()
    attributes = (await response.json())["attributes"]
    assert attributes == {"id": 9007199254740991, "amount": 1.5e300}


async def test_a_profile_patch_with_a_huge_extra_is_refused(api: TestClient, redis: Redis) -> None:
    contact = {"channel": "chat", "external_id": "p1", "queue": "billing"}
    response = await api.post("/v1/contacts", json={**contact, "customer": {"login": "jo"}})
    customer_id = (await response.json())["customer_id"]
    before = await dump(redis)
    patched = await api.patch(
        f"/v1/customers/{customer_id}", data=b'{"extras": {"n": 1e400}}', headers=JSON
    )
    assert patched.status == 422
    assert (await patched.json())["errors"][0]["field"] == "extras.n"
    assert await dump(redis) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_json_route_refuses_a_body_of_another_media_type(
    api: TestClient, redis: Redis, content_type: str
) -> None:
    body = b'{"channel": "chat", "external_id": "m1", "queue": "billing"}'
    response = await api.post("/v1/contacts", data=body, headers={"Content-Type": content_type})
    assert response.status == 415
    problem = await response.json()
    assert problem["type"] == "/v1/problems/unsupported-media-type"
    assert "application/json" in problem["detail"]
    assert await data_keys(redis) == []


async def test_a_json_body_without_a_type_or_with_a_charset_is_read(api: TestClient) -> None:
    body = b'{"channel": "chat", "external_id": "m1", "queue": "billing"}'
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends
    assert (await api.post("/v1/contacts", data=body, headers=form)).status == 415
    # skip_auto_headers: no Content-Type at all, as a bare client may send
    bare = await api.post("/v1/contacts", data=body, skip_auto_headers=["Content-Type"])
    assert bare.status == 201, await bare.text()
    typed = await api.post(
        "/v1/contacts", data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert typed.status == 200  # the same contact again


async def test_a_wrong_method_says_which_are_allowed(api: TestClient) -> None:
    response = await api.patch("/v1/contacts")
    assert response.status == 405
    assert response.content_type == "application/problem+json"
    assert response.headers["Allow"] == "POST"


async def test_a_path_of_ten_thousand_characters_is_a_problem(api: TestClient) -> None:
    response = await api.get("/v1/contacts/" + "x" * 10_000)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 400 and "8190 bytes" in problem["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/agents?limit=abc", "limit"),
        ("/v1/agents?limit=0", "limit"),
        ("/v1/customers/u1/timeline?before=x", "before"),
        ("/v1/customers/u1/timeline?limit=101", "limit"),
        ("/v1/customers?shoe=9", "shoe"),
    ],
)
async def test_a_bad_query_parameter_is_named(api: TestClient, path: str, field: str) -> None:
    response = await api.get(path)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == field


async def test_an_unknown_body_kind_is_named(api: TestClient, redis: Redis) -> None:
    contact = {"channel": "chat", "external_id": "k1", "queue": "billing"}
    created = await api.post("/v1/contacts", json=contact)
    contact_id = (await created.json())["id"]
    before = await dump(redis)
    response = await api.put(f"/v1/contacts/{contact_id}/body?kind=bogus", data="text")
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "kind"
    assert await dump(redis) == before
