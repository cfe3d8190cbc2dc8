"""What an agent's token may read beyond its own desk: contacts it holds, customers it served."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..domain.roles import Role
from ..errors import Forbidden
from .auth import principal, refused
from .services import services


async def require_contact_reader(request: web.Request, contact: Mapping[str, Any]) -> None:
    """An agent reads a contact (its body, its conversation) only while it is offered to it
    or held by it, or after it completed it; other roles the route admits read any. The
    customer's other contacts it sees on the customer's timeline, not whole: a contact joins
    a customer by what the channel says, which a customer of a web chat types."""
    caller = principal(request)
    if caller.role is not Role.AGENT:
        return
    # a contact waiting again keeps the agent of the offer that ended: that one is not it
    if contact.get("agent_id") == caller.subject and contact.get("state") != "queued":
        return
    refused(request, Forbidden.status, "a contact it does not hold", caller)
    raise Forbidden(
        f"agent {caller.subject!r} may read only the contacts offered to it or held by it",
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
    refused(request, Forbidden.status, "a customer it never served", caller)
    raise Forbidden(
        f"agent {caller.subject!r} may read only the customers whose contacts it accepted",
        role=caller.role.value,
    )
