"""Customers over HTTP on a real Redis: found by any identity, profile updates, refusals."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from ccaas.domain.identity import identity
from ccaas.store.context import StoreContext
from ccaas.store.customers import CustomerRepository
from tests.helpers import TEST_CONFIG, MakeApi, dump


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


@pytest.fixture
def customers(ctx: StoreContext) -> CustomerRepository:
    return CustomerRepository(ctx)


async def test_one_person_written_many_ways_is_one_customer(
    customers: CustomerRepository, api: TestClient
) -> None:
    first = await customers.resolve([identity("phone", "020 7946 0001", "GB")])
    again = await customers.resolve(
        [identity("phone", "+44 (0)20-7946-0001", "GB"), identity("email", "Jo@Example.com", "GB")]
    )
    assert first.created and not again.created
    assert again.customer_id == first.customer_id
    for query in ("phone=%2B442079460001", "email=JO%40example.COM"):
        response = await api.get(f"/v1/customers?{query}")
        assert response.status == 200
        found = await response.json()
        assert found["id"] == first.customer_id
    assert found["identities"] == [
        {"kind": "email", "value": "jo@example.com"},
        {"kind": "phone", "value": "+442079460001"},
    ]


async def test_identities_of_two_customers_are_never_joined_silently(
    customers: CustomerRepository, api: TestClient
) -> None:
    jo = await customers.resolve([identity("phone", "02079460001", "GB")])
    sam = await customers.resolve([identity("email", "sam@example.com", "GB")])
    both = await customers.resolve(
        [identity("email", "sam@example.com", "GB"), identity("phone", "02079460001", "GB")]
    )
    assert both.customer_id == jo.customer_id  # the phone is the surer identity
    assert both.conflicts == (("email:sam@example.com", sam.customer_id),)
    response = await api.post(
        f"/v1/customers/{jo.customer_id}/identities",
        json={"identities": [{"kind": "email", "value": "SAM@example.com"}]},
    )
    assert response.status == 409
    assert (await response.json())["other_customer"] == sam.customer_id


async def test_a_refused_batch_of_identities_links_none_of_them(
    customers: CustomerRepository, api: TestClient, redis: Redis
) -> None:
    jo = await customers.resolve([identity("phone", "02079460001", "GB")])
    sam = await customers.resolve([identity("email", "sam@example.com", "GB")])
    before = await dump(redis)
    response = await api.post(
        f"/v1/customers/{jo.customer_id}/identities",
        json={
            "identities": [
                {"kind": "login", "value": "jo-new"},
                {"kind": "email", "value": "sam@example.com"},
            ]
        },
    )
    assert response.status == 409
    assert (await response.json())["other_customer"] == sam.customer_id
    assert await dump(redis) == before
    missing = await api.get("/v1/customers?login=jo-new")
    assert missing.status == 404


async def test_profile_fields_are_set_and_removed(
    customers: CustomerRepository, api: TestClient
) -> None:
    jo = await customers.resolve([identity("login", "jo-b", "GB")])
    response = await api.patch(
        f"/v1/customers/{jo.customer_id}",
        json={"name": "Jo Bloggs", "tier": "gold", "lifetime_value": 1200.5,
              "consent": {"marketing": False}, "extras": {"account": "ACC-1"}},
    )  # fmt: skip
    assert response.status == 200
    body = await response.json()
    assert (body["tier"], body["lifetime_value"], body["extras"]) == (
        "gold", 1200.5, {"account": "ACC-1"}
    )  # fmt: skip
    removed = await (await api.patch(f"/v1/customers/{jo.customer_id}", json={"tier": None})).json()
    assert removed["tier"] is None and removed["name"] == "Jo Bloggs"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("post", "/identities", {"identities": [{"kind": "phone", "value": "12"}]}, 422,
         "identities.0.value"),
        ("post", "/identities", {"identities": [{"kind": "email", "value": "jo@"}]}, 422,
         "identities.0.value"),
        ("post", "/identities", {"identities": [{"kind": "handle", "value": "myspace:jo"}]}, 422,
         "identities.0.value"),
        ("post", "/identities", {"identities": [{"kind": "fax", "value": "1"}]}, 422,
         "identities.0.kind"),
        ("patch", "", {"tier": "gold", "iq": 150}, 422, "iq"),
        ("patch", "", {"lifetime_value": -1}, 422, "lifetime_value"),
        ("patch", "", {"extras": {"note": "x" * 1001}}, 422, "extras"),
        ("patch", "", {"lifetime_value": "60000"}, 422, "lifetime_value"),
        ("patch", "", {"lifetime_value": True}, 422, "lifetime_value"),
        ("patch", "", {"consent": {"marketing": "on"}}, 422, "consent.marketing"),
        ("patch", "", {"consent": {"marketing": "yes"}}, 422, "consent.marketing"),
        ("patch", "", {"consent": {"marketing": "0"}}, 422, "consent.marketing"),
        ("patch", "", {"consent": {"marketing": 1}}, 422, "consent.marketing"),
    ],
)  # fmt: skip
async def test_bad_customer_input_is_refused_and_changes_nothing(
    customers: CustomerRepository,
    api: TestClient,
    redis: Redis,
    method: str,
    path: str,
    body: dict[str, object],
    status: int,
    field: str,
) -> None:
    jo = await customers.resolve([identity("login", "jo-b", "GB")])
    before = await dump(redis)
    response = await getattr(api, method)(f"/v1/customers/{jo.customer_id}{path}", json=body)
    assert response.status == status
    assert (await response.json())["errors"][0]["field"] == field
    assert await dump(redis) == before


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"phone": "+442079460001", "lifetime_value": "60000"}, "customer.lifetime_value"),
        ({"phone": "+442079460001", "consent": {"sms": "yes"}}, "customer.consent.sms"),
        ({"email": "jo@example.com", "extras": {"vip": "1", "n": [1]}}, "customer.extras.n"),
    ],
)
async def test_a_contact_types_its_customer_profile_as_patch_does(
    api: TestClient, redis: Redis, customer: dict[str, object], field: str
) -> None:
    before = await dump(redis)
    contact = {"channel": "chat", "external_id": "c-1", "queue": "billing", "customer": customer}
    response = await api.post("/v1/contacts", json=contact)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == field
    assert await dump(redis) == before


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("phone=%2B442079460009", 404),
        ("phone=not-a-phone", 422),
        ("handle=friendster:jo", 422),
        ("phone=1&email=a%40b.com", 422),
        ("shoe=9", 422),
        ("", 422),
    ],
)
async def test_lookups_answer_clearly(
    api: TestClient, redis: Redis, query: str, status: int
) -> None:
    before = await dump(redis)  # the engine's own keys: the rules and the epoch
    response = await api.get(f"/v1/customers?{query}")
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert await dump(redis) == before


async def test_merge_joins_two_customers_and_the_old_id_answers_as_the_new(
    customers: CustomerRepository, api: TestClient
) -> None:
    jo = await customers.resolve([identity("phone", "02079460001", "GB")])
    dup = await customers.resolve([identity("email", "jo@example.com", "GB")])
    response = await api.post(
        f"/v1/customers/{jo.customer_id}/merge", json={"from": dup.customer_id}
    )
    assert response.status == 200
    merged = await response.json()
    assert merged["merged_from"] == [dup.customer_id]
    assert len(merged["identities"]) == 2
    old = await (await api.get(f"/v1/customers/{dup.customer_id}")).json()
    assert old["id"] == jo.customer_id
    again = await api.post(f"/v1/customers/{jo.customer_id}/merge", json={"from": dup.customer_id})
    assert again.status == 409
    itself = await api.post(f"/v1/customers/{jo.customer_id}/merge", json={"from": jo.customer_id})
    assert itself.status == 409
    missing = await api.post(f"/v1/customers/{jo.customer_id}/merge", json={"from": "u404"})
    assert missing.status == 404


async def test_erasure_over_http_leaves_nothing_to_find(
    customers: CustomerRepository, api: TestClient
) -> None:
    jo = await customers.resolve([identity("phone", "02079460001", "GB")])
    response = await api.delete(f"/v1/customers/{jo.customer_id}")
    assert (response.status, (await response.json())["erased"]) == (200, True)
    assert (await api.get(f"/v1/customers/{jo.customer_id}")).status == 404
    assert (await api.get("/v1/customers?phone=02079460001")).status == 404
    assert (await api.get(f"/v1/customers/{jo.customer_id}/timeline")).status == 404
    patch = await api.patch(f"/v1/customers/{jo.customer_id}", json={"name": "Jo"})
    assert patch.status == 404
    assert (await api.delete(f"/v1/customers/{jo.customer_id}")).status == 404


async def test_contact_bodies_over_http(api: TestClient, redis: Redis) -> None:
    created = await api.post(
        "/v1/contacts", json={"channel": "chat", "external_id": "b1", "queue": "support"}
    )
    contact_id = (await created.json())["id"]
    put = await api.put(f"/v1/contacts/{contact_id}/body?kind=email", data="Dear team,\n" * 9000)
    assert put.status == 200 and (await put.json())["body_bytes"] == len("Dear team,\n" * 9000)
    got = await api.get(f"/v1/contacts/{contact_id}/body")
    assert (await got.text()).startswith("Dear team,")
    before = await dump(redis)
    for path, data, status in [
        (f"/v1/contacts/{contact_id}/body?kind=fax", "x", 422),
        (f"/v1/contacts/{contact_id}/body", b"\xff\xfe", 400),
        (f"/v1/contacts/{contact_id}/body", "", 400),
        (f"/v1/contacts/{contact_id}/body", "x" * (512 * 1024 + 1), 413),
        ("/v1/contacts/nope/body", "x", 404),
    ]:
        assert (await api.put(path, data=data)).status == status, path
    assert await dump(redis) == before
