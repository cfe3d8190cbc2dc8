"""GET /v1/customers names the query parameter it refuses, as docs/api.md promises."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import TEST_CONFIG, MakeApi


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(TEST_CONFIG)


@pytest.mark.parametrize("kind", ["phone", "email", "handle", "visitor", "login", "account"])
@pytest.mark.parametrize("value", ["", "x" * 2000])
async def test_an_empty_or_overlong_identity_is_refused_naming_its_parameter(
    api: TestClient, kind: str, value: str
) -> None:
    response = await api.get("/v1/customers", params={kind: value})
    assert response.status == 422
    problem = await response.json()
    assert [e["field"] for e in problem["errors"]] == [kind]
    assert "value" not in problem["detail"].split(":")[0]  # not the body field's name
