"""The OpenAPI 3.1 document of the HTTP API, built from the routes an app serves.

Each handler says what it does where it is defined, stacked under its route:

    @routes.post("/v1/contacts/{id}/complete")
    @operation("Finish a connected contact", body=CompleteIn, errors={404: "unknown"})
    async def complete_contact(request: web.Request) -> web.Response: ...

and `openapi_document(app)` walks `app.router` to put each registered route together with
its operation. A handler without `@operation` is served but left out of the document.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from .. import __version__
from ..domain.roles import EVERYONE, PUBLIC, Role

HandlerT = TypeVar("HandlerT", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])
Content = Mapping[str, Mapping[str, Any]]  # media type → media type object

Schema = Mapping[str, Any]  # a JSON schema

TEXT_BODY: Content = {"text/plain": {"schema": {"type": "string"}}}
YAML_BODY: Content = {"application/yaml": {"schema": {"type": "string"}}}
JSON_OBJECT: Content = {"application/json": {"schema": {"type": "object"}}}
JSON_LIST: Content = {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
}
# What read_body refuses, so every operation with a JSON body answers it.
JSON_BODY_ERRORS = {
    400: "malformed JSON",
    413: "body too large",
    415: "a Content-Type that is not JSON",
    422: "invalid field: errors[].field names it",
}
# What an operation that needs a token may answer (web/auth.py): 401 every one, 403 one
# that some role may not make, or that narrows an agent's token to its own desk (`scoped`).
UNAUTHORIZED = {401: "no bearer token, or one that is expired or not this engine's"}
FORBIDDEN = {403: "the token's role may not make this call, or an agent's token names another desk"}
SECURITY_SCHEMES = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
# What every operation that reads or writes Redis may answer while Redis is not serving.
REDIS_ERRORS = {503: "Redis unreachable, stalled or being set up again: retry after Retry-After"}
# Every problem+json answer (RFC 9457); a kind may add fields of its own.
PROBLEM_SCHEMA: Schema = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": ["string", "null"]}}},
        },
    },
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM = {"content": {"application/problem+json": {"schema": _PROBLEM_REF}}}
# The problem answers that say when to try again, in whole seconds.
RETRY_AFTER_STATUSES = (429, 503)
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before sending the request again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_STRING: Schema = {"type": "string"}
_PATH_PARAMETER = re.compile(r"\{([^}:]+)\}")


def page_limit(most: int) -> Schema:
    """The schema of a `limit` query parameter: a whole number from 1 to `most`."""
    return {"type": "integer", "minimum": 1, "maximum": most}


@dataclass(frozen=True, eq=False)  # hashed by identity: the document is cached by routes
class Operation:
    """What the document says of one handler: `ok` (answered with the JSON result) and
    `errors` (answered with problem+json) map status → description; `body` is a request model
    (JSON) or the content of a non-JSON body; `roles` are those whose tokens may call it
    (PUBLIC: anyone, with no token); a `scoped` one narrows an agent's token to the agent's
    own desk, or to the contacts and customers it served."""

    summary: str
    roles: frozenset[Role]
    body: type[BaseModel] | Content | None = None
    ok: Mapping[int, str] = field(default_factory=lambda: {200: "OK"})
    errors: Mapping[int, str] = field(default_factory=dict)
    query: Mapping[str, Schema] = field(default_factory=dict)
    needs_redis: bool = True  # answered 503 at once while Redis is not serving
    result: Content = field(default_factory=lambda: JSON_OBJECT)  # what the `ok` answers carry
    scoped: bool = False

    @property
    def model(self) -> type[BaseModel] | None:
        return self.body if isinstance(self.body, type) else None

    def statuses(self) -> dict[int, str]:
        """Every status the handler may answer, with its description."""
        implied = {
            **(UNAUTHORIZED if self.roles != PUBLIC else {}),
            **(FORBIDDEN if self.roles not in (PUBLIC, EVERYONE) or self.scoped else {}),
            **(JSON_BODY_ERRORS if self.model is not None else {}),
            **(REDIS_ERRORS if self.needs_redis else {}),
        }
        return {**self.ok, **implied, **self.errors}

    def document(self) -> dict[str, Any]:
        responses: dict[str, Any] = {
            str(code): {"description": why, "content": dict(self.result)}
            for code, why in self.ok.items()
        }
        errors = {code: why for code, why in self.statuses().items() if code not in self.ok}
        for code, why in errors.items():
            responses[str(code)] = {**_PROBLEM, "description": why}
            if code in RETRY_AFTER_STATUSES:
                responses[str(code)]["headers"] = _RETRY_AFTER
        op: dict[str, Any] = {"summary": self.summary, "responses": responses}
        roles = sorted(role.value for role in self.roles)
        op["security"] = [{"bearer": []}] if roles else []
        op["x-roles"] = roles
        op["description"] = (
            "Roles: " + ", ".join(roles) if roles else "Public: no token needed"
        ) + (
            "; an agent's token: its own desk and the customers it served." if self.scoped else "."
        )
        if isinstance(self.body, type):
            ref = {"$ref": f"#/components/schemas/{self.body.__name__}"}
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
        elif self.body is not None:
            op["requestBody"] = {"required": True, "content": dict(self.body)}
        if self.query:
            op["parameters"] = [
                {"name": name, "in": "query", "required": False, "schema": dict(schema)}
                for name, schema in self.query.items()
            ]
        return op


_OPERATIONS: dict[Callable[..., Any], Operation] = {}


def operation(
    summary: str,
    *,
    roles: frozenset[Role],
    body: type[BaseModel] | Content | None = None,
    ok: int | Mapping[int, str] = 200,
    errors: Mapping[int, str] | None = None,
    query: Mapping[str, Schema] | Iterable[str] = (),
    needs_redis: bool = True,
    result: Content = JSON_OBJECT,
    scoped: bool = False,
) -> Callable[[HandlerT], HandlerT]:
    """Describe a handler for the OpenAPI document; `ok` is a status or status → description
    of the answers that carry the result (`result`: a JSON object unless told), `errors`
    those that are problem+json; `roles` are the roles whose tokens it admits (every route
    says; PUBLIC for none needed) and `scoped` that an agent's token reaches its own desk
    only (the handler checks); `query` names the query parameters (with their schemas, or
    only names: strings).

    A JSON `body` implies the answers of read_body (JSON_BODY_ERRORS); `errors` adds to them
    or says better what one means for this handler. An operation that `needs_redis` implies
    503 (REDIS_ERRORS), answered at once while Redis is not serving."""
    oks = {ok: "OK"} if isinstance(ok, int) else dict(ok)
    params = dict(query) if isinstance(query, Mapping) else dict.fromkeys(query, _STRING)
    described = Operation(
        summary, roles, body, oks, dict(errors or {}), params, needs_redis, dict(result), scoped
    )

    def describe(handler: HandlerT) -> HandlerT:
        _OPERATIONS[handler] = described
        return handler

    return describe


def operation_of(route: web.AbstractRoute) -> Operation | None:
    """The operation a route's handler declared, if any."""
    return _OPERATIONS.get(route.handler)


def documented_routes(app: web.Application) -> list[tuple[str, str, Operation]]:
    """(method, path, operation) of every route of `app` whose handler is described."""
    found = []
    for route in app.router.routes():
        described = operation_of(route)
        if described is not None and route.resource is not None and route.method != "HEAD":
            found.append((route.method.lower(), route.resource.canonical, described))
    return found


def openapi_document(app: web.Application) -> dict[str, Any]:
    """The document of the routes `app` serves (built once for each set of routes)."""
    return _document(tuple(documented_routes(app)))


@cache
def _document(routes: tuple[tuple[str, str, Operation], ...]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Problem": dict(PROBLEM_SCHEMA)}
    for method, path, described in routes:
        item = paths.setdefault(path, {})
        if names := _PATH_PARAMETER.findall(path):
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in names
            ]
        item[method] = described.document()
        if (model := described.model) is not None and model.__name__ not in schemas:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "ccaas routing API", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
