"""Every route with every role: a role the route does not admit is refused 403, no token 401,
and an admitted role gets past sign-in; what the refusals leave is nothing."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from ccaas.domain.roles import PUBLIC, Role
from ccaas.web.openapi import documented_routes
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, bearer, dump

AGENT = "a1"  # the agent whose token the matrix uses; agent routes name its own desk
PATH_VALUES = {"id": AGENT, "name": "billing", "version": "1", "kind": "not-found"}
# what each path's {id} names, when it is not the agent's
ID_BY_PREFIX = {
    "/v1/contacts/": "c-unknown",
    "/v1/offers/": "c-unknown.1.ab",
    "/v1/customers/": "cu-x",
}
# an agent reads only customers it served: with a customer it never served, refused
AGENT_SCOPED = {("get", "/v1/customers/{id}"), ("get", "/v1/customers/{id}/timeline")}
CALLERS: list[Role | None] = [None, *Role]


def _concrete(path: str) -> str:
    values = dict(PATH_VALUES)
    for prefix, value in ID_BY_PREFIX.items():
        if path.startswith(prefix):
            values["id"] = value
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)


def _headers(caller: Role | None) -> dict[str, str]:
    if caller is None:
        return {}
    subject = AGENT if caller is Role.AGENT else f"someone-{caller.value}"
    return bearer(caller, subject)


async def _call(api: TestClient, method: str, path: str, caller: Role | None) -> int:
    body = b"{}" if method in ("post", "put", "patch") else None
    headers = {**_headers(caller), "Content-Type": "application/json"}
    async with api.request(method.upper(), _concrete(path), data=body, headers=headers) as r:
        if r.status in (401, 403):
            assert r.content_type == "application/problem+json"
            problem = await r.json()
            assert problem["status"] == r.status
            if r.status == 401:
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
        return r.status


async def test_every_route_admits_its_roles_and_refuses_the_others(make_api: MakeApi) -> None:
    api = await make_api(as_role=None)
    await api.put("/v1/agents/a1", json={"name": "A"}, headers=bearer())
    routes = documented_routes(api.server.app)
    assert len(routes) >= 30
    wrong: list[str] = []
    for method, path, described in routes:
        for caller in CALLERS:
            status = await _call(api, method, path, caller)
            name = caller.value if caller else "no token"
            if described.roles == PUBLIC:
                expected_ok = status not in (401, 403)
            elif caller is None:
                expected_ok = status == 401
            elif caller not in described.roles or (
                caller is Role.AGENT and (method, path) in AGENT_SCOPED
            ):
                expected_ok = status == 403
            else:
                expected_ok = status not in (401, 403)
            if not expected_ok:
                wrong.append(f"{method.upper()} {path} as {name}: {status}")
    assert not wrong, "\n".join(wrong)


async def test_refused_calls_change_nothing(make_api: MakeApi) -> None:
    """A write refused for its token leaves Redis as it was, byte for byte."""
    api = await make_api(as_role=None)
    await api.put("/v1/agents/a1", json={"name": "A"}, headers=bearer())
    redis = api.server.app[SERVICES].ctx.redis
    before = await dump(redis)
    for method, path, described in documented_routes(api.server.app):
        if method == "get":
            continue
        for caller in CALLERS:
            if described.roles == PUBLIC or (caller is not None and caller in described.roles):
                continue
            assert await _call(api, method, path, caller) in (401, 403)
    assert await dump(redis) == before


@pytest.mark.parametrize("caller", [Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.ADAPTER])
async def test_the_document_and_problem_types_need_a_token(make_api: MakeApi, caller: Role) -> None:
    api = await make_api(as_role=None)
    for path in ("/v1/openapi.json", "/v1/problems/not-found", "/v1/nothing-here"):
        assert (await api.get(path)).status == 401
        assert (await api.get(path, headers=_headers(caller))).status in (200, 404)
    assert (await api.get("/healthz")).status == 200
