"""The rules through HTTP: classified arrivals, rejections, explain, and the admin rules API."""

from __future__ import annotations

import pytest
import structlog
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from structlog.testing import capture_logs

from ccaas.domain.clock import ManualClock
from ccaas.domain.rules.text import parse_rules
from tests.helpers import MONDAY_10AM, RULES, MakeApi, data_keys, dump


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


@pytest.fixture
async def api(make_api: MakeApi) -> TestClient:
    return await make_api(parse_rules(RULES, "routing.yaml"))  # on the clock above


async def test_an_arrival_without_a_queue_is_classified_and_explained(api: TestClient) -> None:
    response = await api.post(
        "/v1/contacts",
        json={"channel": "chat", "external_id": "w1", "customer": {"tier": "gold"}},
    )
    assert response.status == 201
    contact = await response.json()
    assert (contact["queue"], contact["rule"], contact["priority"]) == ("billing", "default", 20)
    response = await api.get(f"/v1/contacts/{contact['id']}/explain")
    explained = await response.json()
    assert explained["score"]["priority_terms"] == [
        {"source": "priority rule gold", "priority": 20}
    ]
    assert explained["score"]["score"] == MONDAY_10AM - 20 * 10 * 1000
    assert [s["step"] for s in explained["relaxation"]["pending"]] == [
        "queue:billing/widen",
        "queue:billing/any-language",
    ]
    assert explained["candidates"] == []  # nobody serves billing yet


async def test_a_contact_no_queue_can_take_is_refused_with_the_reason(
    api: TestClient, redis: Redis
) -> None:
    await api.put("/v1/agents/pat", json={"name": "Pat", "profile": "billing_team"})
    before = await dump(redis)
    response = await api.post(
        "/v1/contacts",
        json={"channel": "email", "external_id": "m1", "attributes": {"intent": "buy"}},
    )
    assert response.status == 409
    problem = await response.json()
    assert problem["reason"] == "no_rule"  # no rule's queue takes email
    assert await dump(redis) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Zed", "profile": "biling_team"}, "profile"),
        ({"name": "Zed", "skills": {"bilingual": 5}}, "skills.bilingual"),
    ],
)
async def test_an_agent_naming_an_unknown_profile_or_skill_is_refused(
    api: TestClient, redis: Redis, body: dict[str, object], field: str
) -> None:
    response = await api.put("/v1/agents/zed", json=body)
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["field"] == field
    assert await data_keys(redis) == []


async def test_validate_answers_without_changing_anything(api: TestClient, redis: Redis) -> None:
    response = await api.post("/v1/admin/rules/validate", data=RULES)
    assert response.status == 200
    assert (await response.json())["summary"]["classification_rules"] == 4
    response = await api.post(
        "/v1/admin/rules/validate", data=RULES.replace("queue: sales", "queue: sails")
    )
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["message"] == (
        "queue 'sails' in rule 'sales' does not exist; did you mean 'sales'?"
    )
    assert problem["errors"][0]["line"] == RULES.splitlines().index("    queue: sales") + 1
    assert await data_keys(redis) == []


@pytest.mark.parametrize(
    ("data", "status"),
    [(b"", 400), (b"\xff\xfe", 400), (b"queues: [", 422), (b"- a list", 422)],
)
async def test_bad_rules_bodies_are_refused(
    api: TestClient, redis: Redis, data: bytes, status: int
) -> None:
    response = await api.put("/v1/admin/rules", data=data)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert await data_keys(redis) == []


async def test_rollback_to_an_unknown_version_is_not_found(api: TestClient) -> None:
    assert (await api.post("/v1/admin/rules/rollback/9")).status == 404
    not_a_number = await api.post("/v1/admin/rules/rollback/x")
    assert not_a_number.status == 422
    assert (await not_a_number.json())["errors"][0]["field"] == "version"


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


BAD_DOCUMENTS = [
    pytest.param(
        RULES.replace("    hours: office\n", "    hours: office: x\n"),
        "office: x",
        "not valid YAML",
        id="yaml",
    ),
    pytest.param(
        RULES.replace("    hours: office", "    hours: office\n    max_sise: 3"),
        "max_sise",
        "did you mean 'max_size'?",
        id="unknown-field",
    ),
    pytest.param(
        RULES.replace('customer.tier == "gold"', 'customer.tier = "gold"'),
        "customer.tier",
        "does not compile",
        id="cel-syntax",
    ),
    pytest.param(
        RULES.replace("skills: {billing: 7}", "skills: {biling: 7}"),
        "biling",
        "skill 'biling' in rule 'default' does not exist; did you mean 'billing'?",
        id="unknown-skill",
    ),
    pytest.param(
        RULES.replace("    queue: sales", "    queue: sails"),
        "queue: sails",
        "queue 'sails' in rule 'sales' does not exist; did you mean 'sales'?",
        id="unknown-queue",
    ),
    pytest.param(
        RULES.replace("sales: {priority: 1}", "saless: {priority: 1}"),
        "saless",
        "queue 'saless' in profile 'sales_team' does not exist; did you mean 'sales'?",
        id="unknown-profile-queue",
    ),
    pytest.param(
        RULES.replace('mon-fri: ["08:00-20:00"]', 'mon-fri: ["08:00-20:00"], mon: ["19:00-21:00"]'),
        "mon-fri",
        "19:00-21:00 on mon overlaps 08:00-20:00",
        id="overlapping-hours",
    ),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_DOCUMENTS)
async def test_a_bad_document_is_refused_with_its_line_and_changes_nothing(
    api: TestClient, redis: Redis, text: str, where: str, message: str
) -> None:
    assert (await api.put("/v1/admin/rules", data=RULES)).status == 201
    before = await dump(redis)
    response = await api.put("/v1/admin/rules", data=text)
    assert response.status == 422
    problem = (await response.json())["errors"][0]
    assert problem["line"] == _line(text, where), problem
    assert message in problem["message"]
    assert await dump(redis) == before
    health = await (await api.get("/healthz")).json()
    assert health["rules_version"] == 1


async def test_a_condition_that_fails_at_run_time_is_logged_with_its_rule_and_contact(
    make_api: MakeApi,
) -> None:
    text = RULES.replace(
        'when: contact.attributes.language == "es"', "when: contact.attributes.amount > 100"
    )
    api = await make_api(parse_rules(text, "routing.yaml"))
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await api.post(
            "/v1/contacts",
            json={"channel": "chat", "external_id": "w9", "attributes": {"amount": "lots"}},
        )
    assert response.status == 201
    contact = await response.json()
    assert contact["rule"] == "default"  # the failed condition counted as false
    [failed] = [e for e in logs if e["event"] == "rule_condition_failed"]
    assert failed["rule"] == "classification.1.when"
    assert failed["contact_id"] == contact["id"]


async def test_a_condition_that_is_not_boolean_is_refused_by_put_with_its_line(
    api: TestClient, redis: Redis
) -> None:
    text = RULES.replace('when: customer.tier == "gold"', "when: customer.tier")
    response = await api.put("/v1/admin/rules", data=text)
    assert response.status == 422
    [problem] = (await response.json())["errors"]
    assert (problem["line"], problem["field"]) == (
        _line(text, "customer.tier"),
        "priority_rules.0.when",
    )
    assert problem["message"] == "condition 'customer.tier': gives a string, not true or false"
    assert await data_keys(redis) == []


async def test_an_old_version_s_text_can_be_read_back(api: TestClient) -> None:
    second = RULES.replace("add: 20", "add: 25")
    assert (
        await api.put("/v1/admin/rules", data=RULES, headers={"X-Change-Note": "n1"})
    ).status == 201
    assert (await api.put("/v1/admin/rules", data=second)).status == 201
    response = await api.get("/v1/admin/rules/versions/1")
    assert response.status == 200
    first = await response.json()
    assert (first["version"], first["yaml"], first["note"]) == (1, RULES, "n1")
    assert (first["source"], first["active"]) == ("api", False)
    assert (await (await api.get("/v1/admin/rules/versions/2")).json())["yaml"] == second
    missing = await api.get("/v1/admin/rules/versions/3")
    assert (missing.status, missing.content_type) == (404, "application/problem+json")
    assert (await api.get("/v1/admin/rules/versions/x")).status == 422


async def test_a_rollback_to_the_version_in_force_changes_nothing(
    api: TestClient, redis: Redis
) -> None:
    assert (await api.put("/v1/admin/rules", data=RULES)).status == 201
    before = await dump(redis)
    response = await api.post("/v1/admin/rules/rollback/1")
    assert response.status == 200
    answer = await response.json()
    assert (answer["version"], answer["rolled_back_to"], answer["changed"]) == (1, 1, False)
    assert await dump(redis) == before  # no new version, no event
