"""schemathesis against the OpenAPI document a live `ccaas serve` serves: requests generated
from the document (valid and invalid) get no server error, and every answer keeps to what
the document says of it (a declared status, its media type, its body schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
from tests.helpers import RULES
from tests.serve_processes import serve_env, start_serve, stop

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SCHEMA_WAIT_SECONDS = 30.0  # the process starts, connects to Redis and loads its rules first
EXAMPLES = 20  # per operation: the whole module stays well under a minute on 2 busy cores
pytestmark = pytest.mark.timeout(60)  # each operation, and the first also starts the server
OPERATIONS = sorted((method.upper(), path) for method, path, _ in documented_routes(build_app()))


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
            f"http://127.0.0.1:{port}/v1/openapi.json", wait_for_schema=SCHEMA_WAIT_SECONDS
        )
    finally:
        process.terminate()
        assert stop(process) == 0, "ccaas serve did not stop cleanly"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_each_operation_keeps_to_the_served_document(
    served_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = served_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
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
        case.call_and_validate(checks=CHECKS)

    keeps_to_it()
