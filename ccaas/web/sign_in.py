"""Signing in: an agent's password for a token, an admin sets passwords and makes tokens."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from ..domain.passwords import hash_password, password_matches
from ..domain.roles import ADMIN_ONLY, PUBLIC, Principal, Role
from ..domain.tokens import Issued
from ..errors import NotFound, SignInThrottled, Unauthorized
from ..store.credentials import CredentialRepository
from .auth import SESSION_SECONDS, SIGNER
from .openapi import operation
from .problems import read_body
from .schemas import PasswordIn, SignInIn, TokenIn
from .services import services

log = structlog.get_logger("ccaas.auth")
sign_in_routes = web.RouteTableDef()
DAY_SECONDS = 24 * 3600
_HASHING = asyncio.Semaphore(2)  # argon2 checks at once, per process


@sign_in_routes.post("/v1/auth/sign-in")
@operation(
    "An agent signs in with its id and password; the answer carries its bearer token",
    body=SignInIn,
    errors={
        401: "no such agent, no password set, or the wrong password (which, is not said)",
        429: "too many failed sign-ins of this agent id or from this address: Retry-After",
    },
    roles=PUBLIC,
)
async def sign_in(request: web.Request) -> web.Response:
    body = await read_body(request, SignInIn)
    credentials = CredentialRepository(services(request).ctx)
    address = request.remote or ""
    if wait_ms := await credentials.sign_in_wait_ms(body.agent_id, address):
        log.info("sign_in_throttled", agent_id=body.agent_id[:80], client=address)
        raise SignInThrottled(
            "too many failed sign-ins of this agent id or from this address: wait and try again",
            retry_after_seconds=-(-wait_ms // 1000),
        )
    try:
        stored = await credentials.password_hash(body.agent_id)
    except NotFound:  # an id no agent can have: checked all the same, answered alike
        stored = None
    # argon2 takes tens of milliseconds of CPU: off the event loop, and a few at a time so
    # that a flood of sign-ins cannot take every thread
    async with _HASHING:
        matches = await asyncio.to_thread(password_matches, stored, body.password)
    if not matches:
        await credentials.count_failure(body.agent_id, address)
        log.info("sign_in_refused", agent_id=body.agent_id[:80], client=address)
        raise Unauthorized("the agent id or the password is wrong")
    issued = request.app[SIGNER].issue(
        Principal(Role.AGENT, body.agent_id), request.app[SESSION_SECONDS]
    )
    log.info("signed_in", agent_id=body.agent_id)
    return _token_answer(issued, agent_id=body.agent_id, role=Role.AGENT.value)


@sign_in_routes.put("/v1/agents/{id}/password")
@operation(
    "Set an agent's password (the agent signs in with it from now on)",
    body=PasswordIn,
    errors={404: "unknown agent"},
    roles=ADMIN_ONLY,
)
async def put_password(request: web.Request) -> web.Response:
    body = await read_body(request, PasswordIn)
    agent_id = request.match_info["id"]
    async with _HASHING:
        password_hash = await asyncio.to_thread(hash_password, body.password)
    set_at = await CredentialRepository(services(request).ctx).set_password_hash(
        agent_id, password_hash
    )
    log.info("agent_password_set", agent_id=agent_id)
    return web.json_response({"agent_id": agent_id, "password_set_at": set_at})


@sign_in_routes.post("/v1/auth/tokens")
@operation(
    "Make a token for an integration or a person (as `ccaas token create` does)",
    body=TokenIn,
    ok=201,
    roles=ADMIN_ONLY,
    needs_redis=False,
)
async def create_token(request: web.Request) -> web.Response:
    body = await read_body(request, TokenIn)
    issued = request.app[SIGNER].issue(
        Principal(Role(body.role), body.name), body.days * DAY_SECONDS
    )
    log.info("token_created", role=body.role, name=body.name, expires_at=issued.expires_at)
    return _token_answer(issued, 201, role=body.role, name=body.name)


def _token_answer(issued: Issued, status: int = 200, **about: str) -> web.Response:
    body = {"token": issued.token, "token_type": "Bearer", "expires_at": issued.expires_at}
    return web.json_response(body | about, status=status)
