"""What every repository shares: the client, the tenant's keys, the scripts, clock and config."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from ..domain.clock import Clock, SystemClock
from ..domain.config import RoutingConfig
from .keys import TenantKeys
from .scripts import Scripts


@dataclass(frozen=True)
class StoreContext:
    redis: Redis
    keys: TenantKeys
    scripts: Scripts
    config: RoutingConfig
    clock: Clock

    @classmethod
    def create(
        cls, redis: Redis, tenant: str, config: RoutingConfig, clock: Clock | None = None
    ) -> StoreContext:
        return cls(
            redis, TenantKeys(tenant), Scripts.register(redis), config, clock or SystemClock()
        )
