"""The aiohttp application: routes, the log context and problem middlewares, the OpenAPI
document."""

from __future__ import annotations

from aiohttp import web

from .admin import admin_routes
from .availability import availability_middleware
from .customers import customer_routes
from .handlers import routes
from .intake_window import DEFAULT_MAX_IN_FLIGHT, INTAKE, IntakeGate
from .log_context import log_context_middleware
from .openapi import openapi_document
from .problems import problem_middleware, problem_routes


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app))


def build_app(
    max_body_bytes: int = 64 * 1024, intake_max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
) -> web.Application:
    """The routes of the API; whoever runs it puts the Services in app[SERVICES]. At most
    `intake_max_in_flight` new contacts are taken in at once (more: 429)."""
    # the log context is outermost, so a problem logged by problem_middleware carries it
    app = web.Application(
        middlewares=[log_context_middleware, problem_middleware, availability_middleware],
        client_max_size=max_body_bytes,
    )
    app[INTAKE] = IntakeGate(intake_max_in_flight)
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.add_routes(customer_routes)
    app.add_routes(problem_routes)
    app.router.add_get("/v1/openapi.json", _openapi)
    return app
