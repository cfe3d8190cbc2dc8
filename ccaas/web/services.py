"""The repositories a request handler may use, built once per app on one Redis client."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.offers import OfferRepository
from ..store.queues import QueueRepository


@dataclass(frozen=True)
class Services:
    ctx: StoreContext
    contacts: ContactRepository
    agents: AgentRepository
    offers: OfferRepository
    queues: QueueRepository

    @classmethod
    def build(cls, ctx: StoreContext) -> Services:
        return cls(
            ctx,
            ContactRepository(ctx),
            AgentRepository(ctx),
            OfferRepository(ctx),
            QueueRepository(ctx),
        )


SERVICES = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
