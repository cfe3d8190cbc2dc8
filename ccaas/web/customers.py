"""REST handlers of /v1/customers: look up, read, update, and link identities."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import ValidationError

from ..domain.identity import IDENTITY_FIELDS, Identity, InvalidIdentity, identity
from ..domain.roles import ADMIN_ONLY, STAFF, Role, admits
from ..errors import InvalidInput
from ..store.customers import CustomerRepository
from .openapi import operation, page_limit
from .problems import page_size, read_body
from .schemas import CustomerPatchIn, IdentitiesIn, IdentityIn, MergeIn
from .scope import require_customer_reader
from .services import services

customer_routes = web.RouteTableDef()
LOOKUPS = IDENTITY_FIELDS  # one query parameter per identity kind


def _identity(request: web.Request, item: IdentityIn, field: str) -> Identity:
    try:
        return identity(item.kind, item.value, services(request).ctx.config.phone_region)
    except InvalidIdentity as exc:
        raise InvalidInput(str(exc), field=field) from exc


@customer_routes.get("/v1/customers")
@operation(
    "Find a customer by one identity",
    query=LOOKUPS,
    errors={
        404: "nobody has it",
        422: "not exactly one identity, or it cannot be read: errors[].field names it",
    },
    roles=STAFF,
)
async def find_customer(request: web.Request) -> web.Response:
    given = [(k, v) for k, v in request.query.items() if k in LOOKUPS]
    unknown = sorted(set(request.query) - set(LOOKUPS))
    if unknown or len(given) != 1:
        field = unknown[0] if unknown else given[1][0] if given else "(query)"
        raise InvalidInput(
            f"give exactly one of {', '.join(LOOKUPS)} (e.g. ?phone=+442079460001)",
            field=field[:64],
        )
    kind, value = given[0]
    repo = CustomerRepository(services(request).ctx)
    try:
        item = IdentityIn.model_validate({"kind": kind, "value": value})
    except ValidationError as exc:  # the parameter is `kind`, not a body's `value`
        raise InvalidInput(f"{kind}: {exc.errors()[0]['msg']}", field=kind) from exc
    found = await repo.find(_identity(request, item, kind))
    return web.json_response(await repo.get(found))


@customer_routes.get("/v1/customers/{id}")
@operation(
    "A customer: profile and identities",
    errors={404: "unknown or erased"},
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
    scoped=True,
)
async def get_customer(request: web.Request) -> web.Response:
    await require_customer_reader(request, request.match_info["id"])
    repo = CustomerRepository(services(request).ctx)
    return web.json_response(await repo.get(request.match_info["id"]))


@customer_routes.get("/v1/customers/{id}/timeline")
@operation(
    "The customer's contacts on every channel, newest first",
    query={"limit": page_limit(100), "before": {"type": "string"}},
    errors={
        404: "unknown",
        422: "limit is not 1..100, or before is not a next_before: errors[].field names it",
    },
    roles=admits(Role.ADMIN, Role.SUPERVISOR, Role.AGENT),
    scoped=True,
)
async def get_timeline(request: web.Request) -> web.Response:
    await require_customer_reader(request, request.match_info["id"])
    limit, before = page_size(request, 20, 100), request.query.get("before")
    if before is not None and not re.fullmatch(r"[0-9]{1,15}(:[A-Za-z0-9]{1,64})?", before):
        raise InvalidInput("before must be the next_before of the page seen last", field="before")
    repo = CustomerRepository(services(request).ctx)
    page = await repo.timeline(request.match_info["id"], limit, before)
    return web.json_response(page)


@customer_routes.post("/v1/customers/{id}/merge")
@operation(
    "Join another customer into this one",
    body=MergeIn,
    errors={404: "unknown", 409: "merged already, or itself"},
    roles=ADMIN_ONLY,
)
async def merge_customers(request: web.Request) -> web.Response:
    body = await read_body(request, MergeIn)
    repo = CustomerRepository(services(request).ctx)
    return web.json_response(await repo.merge(request.match_info["id"], body.from_))


@customer_routes.delete("/v1/customers/{id}")
@operation(
    "Erase the customer's personal data and identities",
    errors={404: "unknown", 409: "merged into another: erase that one"},
    roles=ADMIN_ONLY,
)
async def erase_customer(request: web.Request) -> web.Response:
    customer_id = request.match_info["id"]
    contacts = await CustomerRepository(services(request).ctx).erase(customer_id)
    return web.json_response({"id": customer_id, "erased": True, "contacts": contacts})


@customer_routes.patch("/v1/customers/{id}")
@operation(
    "Set or remove profile fields",
    body=CustomerPatchIn,
    errors={404: "unknown"},
    roles=ADMIN_ONLY,
)
async def patch_customer(request: web.Request) -> web.Response:
    body = await read_body(request, CustomerPatchIn)
    repo = CustomerRepository(services(request).ctx)
    changes = body.model_dump(exclude_unset=True)
    return web.json_response(await repo.update(request.match_info["id"], changes))


@customer_routes.post("/v1/customers/{id}/identities")
@operation(
    "Link identities",
    body=IdentitiesIn,
    errors={404: "unknown", 409: "an identity belongs to another customer"},
    roles=ADMIN_ONLY,
)
async def add_identities(request: web.Request) -> web.Response:
    body = await read_body(request, IdentitiesIn)
    found = [
        _identity(request, item, f"identities.{i}.value") for i, item in enumerate(body.identities)
    ]
    repo, customer_id = CustomerRepository(services(request).ctx), request.match_info["id"]
    await repo.get(customer_id)  # 404 before any change
    await repo.add_identities(customer_id, found)
    return web.json_response(await repo.get(customer_id))
