"""The aiohttp application: routes, the problem middleware and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from .admin import admin_routes
from .customers import customer_routes
from .handlers import routes
from .openapi import openapi_document
from .problems import problem_middleware, problem_routes


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app))


def build_app(max_body_bytes: int = 64 * 1024) -> web.Application:
    """The routes of the API; whoever runs it puts the Services in app[SERVICES]."""
    app = web.Application(middlewares=[problem_middleware], client_max_size=max_body_bytes)
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.add_routes(customer_routes)
    app.add_routes(problem_routes)
    app.router.add_get("/v1/openapi.json", _openapi)
    return app
