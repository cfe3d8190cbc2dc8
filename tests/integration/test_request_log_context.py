"""Each request's log events carry the tenant, the request id and the ids its path names; the
request id is echoed in X-Request-Id."""

from __future__ import annotations

import re
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from ccaas.desk.service import Desk
from ccaas.store.contacts import ContactRepository
from ccaas.store.customers import CustomerRepository
from tests.helpers import TEST_CONFIG, MakeApi, settled


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(TEST_CONFIG, tenant="acme")
    await settled(api)
    return api


async def _fail(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the store broke")


@pytest.mark.parametrize(
    ("owner", "method_name", "method", "path", "bound"),
    [
        (ContactRepository, "get", "get", "/v1/contacts/c123", {"contact_id": "c123"}),
        (ContactRepository, "body", "get", "/v1/contacts/c123/body", {"contact_id": "c123"}),
        (Desk, "view", "get", "/v1/agents/ann", {"agent_id": "ann"}),
        (Desk, "accept", "post", "/v1/offers/c123.1/accept", {"offer_id": "c123.1"}),
        (CustomerRepository, "get", "get", "/v1/customers/u7", {"customer_id": "u7"}),
    ],
)
async def test_a_failed_request_logs_its_request_id_tenant_and_path_ids(
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    method_name: str,
    method: str,
    path: str,
    bound: dict[str, str],
) -> None:
    monkeypatch.setattr(owner, method_name, _fail)
    # capture_logs replaces every processor, merge_contextvars too: without it the captured
    # events would hold only what the call site passed, none of the bound context
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        body = {"agent_id": "ann"} if method == "post" else None
        response = await api.request(
            method, path, headers={"X-Request-Id": "req-42.a_b"}, json=body
        )
    assert response.status == 500
    assert response.headers["X-Request-Id"] == "req-42.a_b"
    assert (await response.json())["type"] == "/v1/problems/internal-error"
    (failed,) = [event for event in logs if event["event"] == "request_failed"]
    assert failed["request_id"] == "req-42.a_b" and failed["tenant"] == "acme"
    assert {key: failed.get(key) for key in bound} == bound
    assert failed["log_level"] == "error" and failed["exc_info"]


async def test_the_context_is_gone_after_the_request(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ContactRepository, "get", _fail)
    await api.get("/v1/contacts/c1", headers={"X-Request-Id": "first"})
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await api.get("/v1/queues/nowhere")  # binds no path id
        structlog.get_logger().info("after")
    assert "contact_id" not in logs[-1] and "request_id" not in logs[-1]


@pytest.mark.parametrize(
    "given",
    [None, "", "a" * 65, "has space", "semi;colon", "ünïcode", "a/b"],
    ids=["absent", "empty", "too-long", "space", "semicolon", "non-ascii", "slash"],
)
async def test_an_unusable_request_id_is_replaced_by_a_new_one(
    api: TestClient, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-Id": given}
    first = await api.get("/v1/queues", headers=headers)
    second = await api.get("/v1/queues", headers=headers)
    assert first.status == 200
    ids = first.headers["X-Request-Id"], second.headers["X-Request-Id"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]{1,64}", rid) for rid in ids)
    assert ids[0] != ids[1] and given not in ids


@pytest.mark.parametrize("given", ["a", "A" * 64, "0.9_x-Y"])
async def test_a_usable_request_id_is_echoed_on_every_answer(api: TestClient, given: str) -> None:
    for response in (
        await api.get("/v1/queues", headers={"X-Request-Id": given}),
        await api.get("/v1/queues/nowhere", headers={"X-Request-Id": given}),  # a problem
        await api.get("/v1/nowhere", headers={"X-Request-Id": given}),  # no route matched
    ):
        assert response.headers["X-Request-Id"] == given
