"""The aiohttp application: routes, the log context and problem middlewares, the OpenAPI
document."""

from __future__ import annotations

from aiohttp import web

from .admin import admin_routes
from .availability import availability_middleware
from .customers import customer_routes
from .handlers import routes
from .log_context import log_context_middleware
from .openapi import openapi_document
from .problems import problem_middleware, problem_routes


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app))


def build_app(max_body_bytes: int = 64 * 1024) -> web.Application:
    """The routes of the API; whoever runs it puts the Services in app[SERVICES]."""
    # the log context is outermost, so a problem logged by problem_middleware carries it
    app = web.Application(
        middlewares=[log_context_middleware, problem_middleware, availability_middleware],
        client_max_size=max_body_bytes,
    )
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.add_routes(customer_routes)
    app.add_routes(problem_routes)
    app.router.add_get("/v1/openapi.json", _openapi)
    return app
