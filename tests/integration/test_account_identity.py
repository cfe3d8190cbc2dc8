"""The business's own customer number (`account`, its CRM id) finds the customer everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from ruamel.yaml import YAML

from tests.helpers import TEST_CONFIG, MakeApi, post_contact_from


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


async def post_contact(api: TestClient, external_id: str, customer: dict[str, str]) -> str:
    """The customer id of a contact from `customer`."""
    return str((await post_contact_from(api, external_id, customer))["customer_id"])


async def test_a_crm_account_number_names_one_customer_across_contacts(api: TestClient) -> None:
    first = await post_contact(api, "call-1", {"account": " CUST-1001 ", "name": "Margaret"})
    again = await post_contact(api, "chat-1", {"account": "CUST-1001"})
    other = await post_contact(api, "chat-2", {"account": "cust-1001"})  # CRM ids keep case
    assert first == again != other
    found = await api.get("/v1/customers", params={"account": "CUST-1001"})
    assert found.status == 200
    body = await found.json()
    assert body["id"] == first
    assert {"kind": "account", "value": "CUST-1001"} in body["identities"]


async def test_an_account_decides_like_a_login_over_a_phone(api: TestClient) -> None:
    by_phone = await post_contact(api, "call-1", {"phone": "+44 20 7946 0001"})
    by_account = await post_contact(api, "call-2", {"account": "CUST-7"})
    both = await post_contact(api, "call-3", {"phone": "+44 20 7946 0001", "account": "CUST-7"})
    assert both == by_account != by_phone


async def test_an_account_can_be_linked_and_a_blank_one_is_refused(api: TestClient) -> None:
    customer = await post_contact(api, "call-1", {"phone": "+44 20 7946 0001"})
    linked = await api.post(
        f"/v1/customers/{customer}/identities",
        json={"identities": [{"kind": "account", "value": "CUST-42"}]},
    )
    assert linked.status == 200, await linked.text()
    found = await api.get("/v1/customers?account=CUST-42")
    assert (await found.json())["id"] == customer
    blank = await api.post(
        f"/v1/customers/{customer}/identities",
        json={"identities": [{"kind": "account", "value": "   "}]},
    )
    assert blank.status == 422
    assert (await blank.json())["errors"][0]["field"].startswith("identities")


async def test_the_seeded_crm_numbers_identify_their_customers(
    api: TestClient, repo_root: Path
) -> None:
    seeds = YAML(typ="safe").load((repo_root / "seeds" / "scenarios.yaml").read_text())
    first = seeds["contacts"][0]["customer"]
    customer = await post_contact(api, "seed-1", first)
    found = await api.get("/v1/customers", params={"account": first["account"]})
    assert (await found.json())["id"] == customer
