"""After erasure nothing left links to the person: no key or value holds the customer's id or
data, contacts keep no customer id, and the event stream never carries a customer id."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from ccaas.domain.rules.text import parse_rules
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump

RULES = """
repeat_window_seconds: 3600
queues:
  general: {channels: [voice, chat, email]}
classification:
  - {name: default, queue: general}
priority_rules:
  - {name: gold-tier, when: 'customer.tier == "gold"', add: 20}
"""
PERSONAL = ["Jo Bloggs", "2079460001", "jo@example.com", "jo.b@work.example", "jo-b", "gold"]
LINKING = ["customer_id", "repeat_of", "gold-tier", "preferred"]


async def arrive(api: TestClient, external_id: str, customer: dict[str, Any]) -> dict[str, Any]:
    contact = {"channel": "chat", "external_id": external_id, "customer": customer}
    created = await api.post("/v1/contacts", json=contact)
    assert created.status == 201, await created.text()
    body: dict[str, Any] = await created.json()
    return body


async def events(redis: Redis) -> str:
    return str(await redis.xrange("ccaas:{t1}:events"))


async def test_after_erasure_no_key_value_or_event_links_to_the_customer(
    make_api: MakeApi, redis: Redis
) -> None:
    api = await make_api(parse_rules(RULES, "routing.yaml"))
    jo = {"name": "Jo Bloggs", "phone": "020 7946 0001", "login": "jo-b", "tier": "gold"}
    first = await arrive(api, "chat-1", jo)
    jo_id = first["customer_id"]
    again = await arrive(api, "chat-2", {"phone": "+442079460001"})
    assert again["repeat_of"] == first["id"] and again["priority_terms"]
    dup = await arrive(api, "mail-1", {"email": "jo.b@work.example"})
    merged = await api.post(f"/v1/customers/{jo_id}/merge", json={"from": dup["customer_id"]})
    assert merged.status == 200
    link = {"identities": [{"kind": "email", "value": "jo@example.com"}]}
    assert (await api.post(f"/v1/customers/{jo_id}/identities", json=link)).status == 200
    assert (await api.patch(f"/v1/customers/{jo_id}", json={"segment": "retail"})).status == 200
    ann = {"name": "Ann", "skills": {}, "queues": ["general"]}
    assert (await api.put("/v1/agents/ann", json=ann)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200
    offers = await Router(api.app[SERVICES].ctx).route_once()
    assert len(offers) == 3
    ids = [jo_id, dup["customer_id"]]
    assert [i for i in ids if i in await events(redis)] == []  # not even before erasure

    erased = await api.delete(f"/v1/customers/{jo_id}")
    assert (erased.status, (await erased.json())["contacts"]) == (200, 3)
    everything = str(await dump(redis))
    assert [value for value in ids + PERSONAL + LINKING if value in everything] == []
    for contact in (first, again, dup):
        shown = await (await api.get(f"/v1/contacts/{contact['id']}")).json()
        assert "customer_id" not in shown and shown["priority_terms"] == [], shown
        assert shown["state"] == "offered" and "erased_at" in shown  # routing goes on
    assert (await api.get(f"/v1/customers/{dup['customer_id']}")).status == 404


async def test_erasing_a_customer_erases_the_ids_of_those_merged_into_it(
    make_api: MakeApi, redis: Redis
) -> None:
    api = await make_api(parse_rules(RULES, "routing.yaml"))
    a, b, c = [
        (await arrive(api, f"chat-{n}", {"login": f"person-{n}"}))["customer_id"] for n in range(3)
    ]
    assert (await api.post(f"/v1/customers/{b}/merge", json={"from": c})).status == 200
    assert (await api.post(f"/v1/customers/{a}/merge", json={"from": b})).status == 200
    assert (await api.get(f"/v1/customers/{c}")).status == 200  # c answers as a
    assert (await api.delete(f"/v1/customers/{a}")).status == 200
    everything = str(await dump(redis))
    assert [i for i in (a, b, c) if i in everything] == []
    assert [(await api.get(f"/v1/customers/{i}")).status for i in (a, b, c)] == [404] * 3
