"""Fixtures: a real redis-server for the session, a clean database and a store per test.

Also the hypothesis profiles, chosen here once from the CI variable.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import settings
from redis.asyncio import Redis

from ccaas.domain.clock import Clock, ManualClock
from ccaas.domain.roles import Role
from ccaas.domain.rules.compiled import CompiledRules
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.runtime.embedded_mqtt import EmbeddedBroker
from ccaas.runtime.embedded_redis import EmbeddedRedis
from ccaas.runtime.engine import create_app
from ccaas.store.client import connect
from ccaas.store.context import StoreContext
from tests.helpers import (
    TEST_CONFIG,
    TEST_SECRET,
    AnsweredStatuses,
    MakeApi,
    ServedTestServer,
    bearer,
)

# `ci` searches harder and reproducibly; `dev` keeps a local run quick. max_examples is the count
# for a test that sets none (tests with their own count keep it); `--hypothesis-profile` overrides.
# Both start from hypothesis's built-in profiles; like hypothesis, CI set to anything means CI.
settings.register_profile(
    "ci",
    settings.get_profile("ci"),
    max_examples=500,
    derandomize=True,
    deadline=None,
    print_blob=True,
)
settings.register_profile("dev", settings.get_profile("default"), max_examples=150)
settings.load_profile("ci" if "CI" in os.environ else "dev")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    import asyncio

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False)
    asyncio.run(server.start())
    yield server
    server.stop()


BROKERS = ["mosquitto", "amqtt"] if EmbeddedBroker(Path("."), 1).kind == "mosquitto" else ["amqtt"]


@pytest.fixture(scope="session", params=BROKERS)
def mqtt_broker(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[EmbeddedBroker]:
    """A real MQTT broker for the session; the bridge's tests run on each one there is
    (mosquitto if on PATH, and amqtt, the embedded default without it)."""
    import asyncio

    broker = EmbeddedBroker(tmp_path_factory.mktemp("mqtt"), prefer=request.param)
    asyncio.run(broker.start())
    yield broker
    broker.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client: Redis = connect(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def config() -> RoutingConfig:
    return TEST_CONFIG


@pytest.fixture
def ctx(redis: Redis, config: RoutingConfig, clock: ManualClock) -> StoreContext:
    return StoreContext.create(redis, "t1", config, clock)


@pytest.fixture
async def make_api(
    redis_server: EmbeddedRedis, redis: Redis, clock: ManualClock
) -> AsyncIterator[MakeApi]:
    """Builds the API app (on Redis flushed by `redis`) and returns its started test client;
    each client it made is closed at teardown, and then every status its routes answered must
    be one their OpenAPI operations declare (tests.helpers.AnsweredStatuses). Arguments: see
    tests.helpers.MakeApi."""
    clients: list[TestClient] = []
    answered: list[AnsweredStatuses] = []
    test_clock = clock

    async def make(
        rules: CompiledRules | RoutingConfig = TEST_CONFIG,
        *,
        clock: Clock | None = None,
        run_router: bool = False,
        rules_file: Path | None = None,
        tenant: str = "t1",
        as_role: Role | None = Role.ADMIN,
        **options: Any,
    ) -> TestClient:
        app = create_app(
            redis_server.url,
            rules,
            signing_secret=TEST_SECRET,
            tenant=tenant,
            run_router=run_router,
            clock=test_clock if clock is None else clock,
            rules_file=rules_file,
            **options,
        )
        answered.append(AnsweredStatuses(app))
        headers = {} if as_role is None else bearer(as_role, "test-" + as_role.value, tenant)
        client = TestClient(ServedTestServer(app), headers=headers)
        clients.append(client)  # closed even when its start fails
        await client.start_server()
        return client

    yield make
    for client in reversed(clients):
        await client.close()
    undocumented = [line for statuses in answered for line in statuses.undocumented()]
    assert not undocumented, "statuses the OpenAPI document does not declare: " + ", ".join(
        undocumented
    )


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
