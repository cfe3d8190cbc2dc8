"""The services a request handler may use, built once per app on one store context."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..desk.service import Desk
from ..ingest.service import Ingest
from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.customers import CustomerRepository
from ..store.explain import ExplainRepository
from ..store.offers import OfferRepository
from ..store.queues import QueueRepository


@dataclass(frozen=True)
class Services:
    ctx: StoreContext
    ingest: Ingest
    desk: Desk
    contacts: ContactRepository
    agents: AgentRepository
    offers: OfferRepository
    queues: QueueRepository
    customers: CustomerRepository
    explain: ExplainRepository

    @classmethod
    def build(cls, ctx: StoreContext) -> Services:
        return cls(
            ctx,
            Ingest(ctx),
            Desk(ctx),
            ContactRepository(ctx),
            AgentRepository(ctx),
            OfferRepository(ctx),
            QueueRepository(ctx),
            CustomerRepository(ctx),
            ExplainRepository(ctx),
        )


SERVICES = web.AppKey("services", Services)


# where this replica's other ways in listen ("mqtt": the broker its bridge uses, "smtp"),
# filled in as they start; /healthz names them
class Listeners(dict[str, str]):
    """Name of a way in -> its address."""


LISTENERS = web.AppKey("listeners", Listeners)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
