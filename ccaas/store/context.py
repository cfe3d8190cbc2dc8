"""What every repository shares: the client, the tenant's keys, the scripts, clock and rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from ..domain.clock import Clock, SystemClock
from ..domain.rules.compiled import CompiledRules, compile_rules
from ..domain.rules.schema import RoutingConfig
from .health import RedisHealth
from .keys import TenantKeys
from .scripts import DEFAULT_EVENTS_MAX_LEN, Scripts


class RulesHolder:
    """The rules in force in this process; a reload swaps `current` in one assignment.

    `refresh`, when set (by the rules sync), catches up with the version in force in Redis:
    scripts that find this process behind call it and try again.
    """

    def __init__(self, rules: CompiledRules) -> None:
        self.current = rules
        self.refresh: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class StoreContext:
    redis: Redis
    keys: TenantKeys
    scripts: Scripts
    holder: RulesHolder
    clock: Clock
    health: RedisHealth = field(default_factory=RedisHealth)

    @property
    def rules(self) -> CompiledRules:
        return self.holder.current

    @property
    def config(self) -> RoutingConfig:
        return self.holder.current.config

    @classmethod
    def create(
        cls,
        redis: Redis,
        tenant: str,
        rules: CompiledRules | RoutingConfig,
        clock: Clock | None = None,
        events_max_len: int = DEFAULT_EVENTS_MAX_LEN,
    ) -> StoreContext:
        """`events_max_len`: about how many events the stream keeps (see scripts.py)."""
        if isinstance(rules, RoutingConfig):
            rules = compile_rules(rules)
        return cls(
            redis,
            TenantKeys(tenant),
            Scripts.register(redis, events_max_len),
            RulesHolder(rules),
            clock or SystemClock(),
        )
