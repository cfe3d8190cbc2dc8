"""What an agent's token may read beyond its own desk: contacts it holds, customers it served."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..domain.roles import Role
from ..errors import Forbidden
from .auth import principal
from .services import services


async def require_contact_reader(request: web.Request, contact: Mapping[str, Any]) -> None:
    """An agent reads a contact it is offered or holds (or held last), or one whose customer
    it served; other roles the route admits read any."""
    caller = principal(request)
    if caller.role is not Role.AGENT or contact.get("agent_id") == caller.subject:
        return
    customer_id = contact.get("customer_id") or ""
    if customer_id and await services(request).customers.served_by(customer_id, caller.subject):
        return
    raise Forbidden(
        f"agent {caller.subject!r} may read only the contacts it holds or held and those of "
        "customers it served",
        role=caller.role.value,
    )


async def require_contact_id_reader(request: web.Request, contact_id: str) -> None:
    """require_contact_reader for a contact named by id (read only for an agent's token)."""
    if principal(request).role is Role.AGENT:
        await require_contact_reader(request, await services(request).contacts.get(contact_id))


async def require_customer_reader(request: web.Request, customer_id: str) -> None:
    """An agent reads only the context of customers whose contacts it accepted."""
    caller = principal(request)
    if caller.role is not Role.AGENT:
        return
    if await services(request).customers.served_by(customer_id, caller.subject):
        return
    raise Forbidden(
        f"agent {caller.subject!r} may read only the customers whose contacts it accepted",
        role=caller.role.value,
    )
