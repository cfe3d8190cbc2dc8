"""Problem types (RFC 9457): one type URI and one fixed title per kind of error, each described
by the API itself at its type URI."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from aiohttp.test_utils import TestClient

import ccaas
from ccaas.errors import CcaasError
from ccaas.web.problems import PROBLEM_KINDS
from tests.helpers import TEST_CONFIG, MakeApi, settled

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    api = await make_api(TEST_CONFIG, max_body_bytes=1024)
    await settled(api)
    return api


def _every_error_class() -> set[type[CcaasError]]:
    for module in pkgutil.walk_packages(ccaas.__path__, "ccaas."):
        importlib.import_module(module.name)
    found, todo = set(), [CcaasError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_is_a_served_problem_kind() -> None:
    for cls in _every_error_class():
        assert cls.kind in PROBLEM_KINDS, f"{cls.__name__}: kind {cls.kind!r} is not served"
        served = PROBLEM_KINDS[cls.kind]
        assert (served.status, served.title) == (cls.status, cls.title), cls.__name__
    assert len({(cls.status, cls.title) for cls in PROBLEM_KINDS.values()}) == len(PROBLEM_KINDS)


@pytest.mark.parametrize("kind", sorted(PROBLEM_KINDS))
async def test_each_problem_type_describes_itself(api: TestClient, kind: str) -> None:
    response = await api.get(f"/v1/problems/{kind}")
    assert response.status == 200 and response.content_type == "application/json"
    described = await response.json()
    cls = PROBLEM_KINDS[kind]
    assert described == {
        "type": f"/v1/problems/{kind}",
        "title": cls.title,
        "status": cls.status,
        "description": cls.about,
    }


async def test_an_unknown_problem_type_is_not_found(api: TestClient) -> None:
    response = await api.get("/v1/problems/nonsense")
    assert response.status == 404
    problem = await response.json()
    assert problem["type"] == "/v1/problems/not-found" and problem["title"] == "Not found"
    assert "invalid-input" in problem["detail"]


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "kind"),
    [
        ("post", "/v1/contacts", b"{not json", 400, "bad-request"),
        ("post", "/v1/contacts", b'{"channel": "fax"}', 422, "invalid-input"),  # pydantic's
        ("put", "/v1/agents/ann", b'{"name": "Ann", "queues": ["nowhere"]}', 422, "invalid-input"),
        ("get", "/v1/contacts/cdeadbeef", b"", 404, "not-found"),
        ("post", "/v1/contacts", b'{"x": "' + b"x" * 2000 + b'"}', 413, "payload-too-large"),
        ("put", "/v1/contacts/c1/body", b"x" * (512 * 1024 + 1), 413, "payload-too-large"),
        ("post", "/v1/admin/rules/validate", b"queues: [", 422, "rules-rejected"),
    ],
)
async def test_problems_carry_their_kind_type_and_fixed_title(
    api: TestClient, method: str, path: str, data: bytes, status: int, kind: str
) -> None:
    response = await api.request(method, path, data=data, headers=JSON)
    assert response.status == status
    problem = await response.json()
    cls = PROBLEM_KINDS[kind]
    assert problem["type"] == f"/v1/problems/{kind}"
    assert (problem["title"], problem["status"]) == (cls.title, cls.status)


async def test_aiohttp_own_answers_stay_about_blank_with_the_reason_phrase(
    api: TestClient,
) -> None:
    for response, title in (
        (await api.get("/v1/nowhere"), "Not Found"),
        (await api.patch("/v1/contacts"), "Method Not Allowed"),
    ):
        problem = await response.json()
        assert problem["type"] == "about:blank" and problem["title"] == title
        assert problem["status"] == response.status
