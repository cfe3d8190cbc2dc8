"""schemathesis against the OpenAPI document a live `ccaas serve` serves: requests generated
from the document (valid and invalid) get no server error, and every answer keeps to what
the document says of it (a declared status, its media type, its body schema)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ccaas.runtime.embedded_redis import EmbeddedRedis, free_port
from ccaas.web.app import build_app
from ccaas.web.openapi import documented_routes
from tests.helpers import RULES, bearer
from tests.serve_processes import serve_env, start_serve, stop

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SCHEMA_WAIT_SECONDS = 30.0  # the process starts, connects to Redis and loads its rules first
EXAMPLES = 20  # per operation: the whole module stays well under a minute on 2 busy cores
ADMIN = bearer(tenant="served")  # every call is an admin's: the role matrix is tested apart
pytestmark = pytest.mark.timeout(60)  # each operation, and the first also starts the server
# what erases or ends comes last, so that the ids known to exist still do for the others
OPERATIONS = sorted(
    ((method.upper(), path) for method, path, _ in documented_routes(build_app())),
    key=lambda op: (op[0] == "DELETE", op[1], op[0]),
)


@pytest.fixture(scope="module")
def served_schema(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[schemathesis.BaseSchema]:
    routing_file = tmp_path_factory.mktemp("served") / "routing.yaml"
    routing_file.write_text(RULES)
    port = free_port()
    process = start_serve(serve_env(redis_server.url, "served", port, routing_file))
    try:
        yield schemathesis.openapi.from_url(
            f"http://127.0.0.1:{port}/v1/openapi.json",
            wait_for_schema=SCHEMA_WAIT_SECONDS,
            headers=ADMIN,
        )
    finally:
        process.terminate()
        assert stop(process) == 0, "ccaas serve did not stop cleanly"


@pytest.fixture(scope="module")
def known_ids(served_schema: schemathesis.BaseSchema) -> dict[str, str]:
    """What exists on the server: an agent, a contact ringing for it and its customer, by the
    path prefix that names them, so that generated requests reach real ones too."""
    base = served_schema.get_base_url().rstrip("/")
    ann = {"name": "Ann", "profile": "billing_team", "skills": {"billing": 9}}
    assert requests.put(f"{base}/v1/agents/ann", json=ann, timeout=5, headers=ADMIN).ok
    presence = {"presence": "available"}
    assert requests.put(
        f"{base}/v1/agents/ann/presence", json=presence, timeout=5, headers=ADMIN
    ).ok
    contact = {"channel": "chat", "external_id": "known-1", "customer": {"login": "jo"}}
    created = requests.post(f"{base}/v1/contacts", json=contact, timeout=5, headers=ADMIN).json()
    for _ in range(100):  # the server's router offers it to ann within a round or two
        seen = requests.get(f"{base}/v1/contacts/{created['id']}", timeout=5, headers=ADMIN).json()
        if seen.get("offer_id"):
            break
        time.sleep(0.05)
    return {
        "/v1/agents": "ann",
        "/v1/contacts": seen["id"],
        "/v1/customers": seen["customer_id"],
        "/v1/offers": seen.get("offer_id") or f"{seen['id']}.1",
        "/v1/queues": "billing",
    }


def _known(path: str, known_ids: dict[str, str]) -> dict[str, str] | None:
    """The path's parameter filled with an id that exists, for a path that names one."""
    names = re.findall(r"\{([^}]+)\}", path)
    known = known_ids.get("/".join(path.split("/")[:3]))
    return {names[0]: known} if names and known is not None else None


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_each_operation_keeps_to_the_served_document(
    served_schema: schemathesis.BaseSchema, known_ids: dict[str, str], method: str, path: str
) -> None:
    operation = served_schema[path][method]
    existing = _known(path, known_ids)
    fills = [None] if existing is None else [None, existing]  # generated ids, and real ones
    cases = st.one_of(
        *(
            operation.as_strategy(mode, path_parameters=fill)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for fill in fills
        )
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests on every run, so a pass is a pass
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_it(case: Case) -> None:
        case.call_and_validate(checks=CHECKS, headers=ADMIN)

    keeps_to_it()
