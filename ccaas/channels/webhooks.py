"""A native channel's webhook: a route it serves, which runtime adds to the app (channels
and web do not import each other)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from ..errors import CcaasError
from ..store.context import StoreContext


@dataclass(frozen=True, slots=True)
class Webhook:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    ok: Mapping[int, str] = field(default_factory=lambda: {200: "what the provider expects"})
    errors: Mapping[int, str] = field(default_factory=dict)  # besides 401 and 503 (all have)


class BoundChannel:
    """A native channel whose webhooks are routes from the start and which gets its store
    once the engine is up (bind)."""

    name = "channel"

    def __init__(self) -> None:
        self._ctx: StoreContext | None = None

    def bind(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    @property
    def ctx(self) -> StoreContext:
        if self._ctx is None:
            raise CcaasError(f"the {self.name} channel was not started")
        return self._ctx

    def webhooks(self) -> list[Webhook]:
        """The routes the channel serves."""
        raise NotImplementedError
