"""The aiohttp application: routes, the log context and problem middlewares, the OpenAPI
document."""

from __future__ import annotations

from aiohttp import web

from ..domain.roles import EVERYONE
from ..domain.tokens import TokenSigner
from .admin import admin_routes
from .agent_socket import socket_routes
from .auth import SESSION_SECONDS, SIGNER, admits_roles, auth_middleware
from .availability import availability_middleware
from .callbacks import callback_routes
from .chat import chat_routes
from .console_page import console_routes
from .customers import customer_routes
from .handlers import routes
from .intake_window import DEFAULT_MAX_IN_FLIGHT, INTAKE, IntakeGate
from .log_context import log_context_middleware
from .messages import message_routes
from .openapi import openapi_document
from .problems import problem_middleware, problem_routes
from .sign_in import sign_in_routes


@admits_roles(EVERYONE)
async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app))


def build_app(
    max_body_bytes: int = 64 * 1024,
    intake_max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    signer: TokenSigner | None = None,
    session_hours: float = 12.0,
) -> web.Application:
    """The routes of the API; whoever runs it puts the Services in app[SERVICES]. At most
    `intake_max_in_flight` new contacts are taken in at once (more: 429). `signer` checks
    the callers' tokens (an app without one serves only its public routes); an agent's
    sign-in lasts `session_hours`."""
    # the log context is outermost, so a problem logged by problem_middleware carries it;
    # a caller is signed in before Redis is needed, so a bad token is 401 even in an outage
    app = web.Application(
        middlewares=[
            log_context_middleware,
            problem_middleware,
            auth_middleware,
            availability_middleware,
        ],
        client_max_size=max_body_bytes,
    )
    if signer is not None:
        app[SIGNER] = signer
    app[SESSION_SECONDS] = int(session_hours * 3600)
    app[INTAKE] = IntakeGate(intake_max_in_flight)
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.add_routes(customer_routes)
    app.add_routes(problem_routes)
    app.add_routes(sign_in_routes)
    app.add_routes(message_routes)
    app.add_routes(callback_routes)
    app.add_routes(chat_routes)
    app.add_routes(socket_routes)
    app.add_routes(console_routes)
    app.router.add_get("/v1/openapi.json", _openapi)
    return app
