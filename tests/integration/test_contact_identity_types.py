"""What a contact says about its customer is read as sent: an identity that is not text, or an
id that names nobody, is reported and left out, and no customer is made of it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.helpers import TEST_CONFIG, MakeApi, post_contact_from


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


async def post_contact(api: TestClient, external_id: str, customer: dict[str, Any]) -> Any:
    return await post_contact_from(api, external_id, customer, channel="voice")


@pytest.mark.parametrize(
    "phone", [["+442079460001"], {"number": "+442079460001"}, 442079460001, True]
)
async def test_a_caller_id_that_is_not_text_finds_nobody_and_is_reported(
    api: TestClient, phone: Any
) -> None:
    margaret = await post_contact(api, "call-1", {"phone": "+44 20 7946 0001"})
    contact = await post_contact(api, "call-2", {"phone": phone})
    assert contact["state"] == "queued"
    assert contact.get("customer_id") != margaret["customer_id"]  # not her by a guess
    assert [w["field"] for w in contact["warnings"]] == ["customer.phone"]
    assert "must be a string" in contact["warnings"][0]["message"]


async def test_a_login_that_is_not_text_is_not_linked_to_anyone(
    api: TestClient, redis: Redis
) -> None:
    contact = await post_contact(api, "chat-1", {"login": {"user": "jo"}, "name": "Jo"})
    assert [w["field"] for w in contact["warnings"]] == ["customer.login"]
    assert contact.get("customer_id") is None
    assert [key async for key in redis.scan_iter("*identit*")] == []


@pytest.mark.parametrize("stale", ["u0123456789abcdef", "nobody"])
async def test_a_contact_naming_only_an_unknown_customer_makes_no_empty_customer(
    api: TestClient, redis: Redis, stale: str
) -> None:
    first = await post_contact(api, "call-1", {"customer_id": stale})
    second = await post_contact(api, "call-2", {"customer_id": stale, "name": "Jo"})
    for contact in (first, second):
        assert contact["state"] == "queued" and contact.get("customer_id") is None
        (warning,) = contact["warnings"]
        assert warning["field"] == "customer.customer_id"
        assert "found from the contact's identities" not in warning["message"]
    # no customer nobody can find was made, and the id that names nobody is not kept
    assert [key async for key in redis.scan_iter("*cust*")] == []
    for contact in (first, second):
        stored = await (await api.get(f"/v1/contacts/{contact['id']}")).json()
        assert "customer_id" not in (stored["customer"] or {})
