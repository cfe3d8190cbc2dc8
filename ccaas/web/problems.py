"""Errors as RFC 9457 problem+json responses that name the bad field; nothing else leaks."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..domain.problems import (
    PROBLEM_TYPES_PATH,
    invalid_input,
    json_object,
    problem_type,
)
from ..domain.roles import EVERYONE
from ..errors import (
    BadRequest,
    CcaasError,
    ChatThrottled,
    ConfigError,
    Conflict,
    ContactRejected,
    CustomerErased,
    Forbidden,
    IntakeBusy,
    InvalidInput,
    NotConfigured,
    NotFound,
    PayloadTooLarge,
    RulesRejected,
    SignInThrottled,
    Unauthorized,
    Unavailable,
)
from ..store.client import is_outage
from .openapi import operation

log = structlog.get_logger("ccaas.web")
Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class UnsupportedMediaType(CcaasError):
    status = 415
    title = "Unsupported media type"
    kind = "unsupported-media-type"
    about = (
        "The body's Content-Type is not one the call reads: a JSON call takes application/json "
        "(or none); curl -d sends application/x-www-form-urlencoded unless told "
        "-H 'Content-Type: application/json'. Nothing was changed."
    )


# Every kind of problem the API answers with; each is served at PROBLEM_TYPES_PATH + kind.
PROBLEM_KINDS: dict[str, type[CcaasError]] = {
    kind.kind: kind
    for kind in (
        BadRequest,
        UnsupportedMediaType,
        NotFound,
        Conflict,
        CustomerErased,
        ContactRejected,
        PayloadTooLarge,
        InvalidInput,
        RulesRejected,
        IntakeBusy,
        Unauthorized,
        Forbidden,
        SignInThrottled,
        Unavailable,
        NotConfigured,
        ChatThrottled,
        CcaasError,
        ConfigError,
    )
}


def problem(
    kind: type[CcaasError], detail: str, /, retry_after: int | None = None, **extra: Any
) -> web.Response:
    """The problem+json answer of one kind, with its type, title and status (and when to
    try again, for a kind that says, or as `retry_after` says)."""
    response = _problem_response(problem_type(kind), kind.title, kind.status, detail, extra)
    if retry_after is None:
        retry_after = getattr(kind, "retry_after_seconds", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if (challenge := getattr(kind, "challenge", None)) is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _problem_response(
    type_: str, title: str, status: int, detail: str, extra: dict[str, Any]
) -> web.Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update((name, value) for name, value in extra.items() if name not in body)
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/problem+json",
    )


def about_blank(status: int, detail: str) -> web.Response:
    """aiohttp's own refusals (no such route, method not allowed, unparsable request):
    RFC 9457's about:blank, whose title is the status's reason phrase."""
    return _problem_response("about:blank", HTTPStatus(status).phrase, status, detail, {})


def page_size(request: web.Request, default: int, most: int) -> int:
    """The `limit` query parameter: a whole number from 1 to `most`; InvalidInput if not."""
    limit = request.query.get("limit", str(default))
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 6 and 1 <= int(limit) <= most):
        raise InvalidInput(f"limit must be a whole number from 1 to {most}", field="limit")
    return int(limit)


def path_number(request: web.Request, name: str) -> int:
    """The path parameter `name` as a whole number (ASCII digits, at most 18); InvalidInput
    naming it if not."""
    raw = request.match_info[name]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise InvalidInput(f"{name} {raw[:40]!r} is not a whole number", field=name)
    return int(raw)


def is_json(content_type: str) -> bool:
    """application/json or a JSON-based type (application/problem+json, ...+json)."""
    kind, _, subtype = content_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """Parse and validate a JSON body; invalid input raises before anything is changed.
    No body at all is read as {}, so the answer names the fields that are required; a body
    without a Content-Type is read as JSON, one with a type that is not JSON is refused."""
    raw = await request.read()
    if raw and "Content-Type" in request.headers and not is_json(request.content_type):
        raise UnsupportedMediaType(
            f"the body is {request.content_type}, not application/json: send "
            "Content-Type: application/json (curl: -H 'Content-Type: application/json')",
            content_type=request.content_type[:100],
        )
    payload = json_object(raw)
    return model.model_validate(payload)


async def read_text(request: web.Request, limit: int) -> str:
    """A UTF-8 text body of at most `limit` bytes (bigger than the JSON body limit allows)."""
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is limited to {limit} bytes")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body must be UTF-8 text") from exc


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ValidationError as exc:
        invalid = invalid_input(exc)
        return problem(InvalidInput, invalid.detail, **invalid.fields)
    except CcaasError as exc:
        fields = {k: v for k, v in exc.fields.items() if v is not None}
        if "field" in fields:
            fields["errors"] = [{"field": fields["field"], "message": exc.detail}]
        retry_after = getattr(exc, "retry_after_seconds", None)
        return problem(type(exc), exc.detail, retry_after, **fields)
    except web.HTTPRequestEntityTooLarge as exc:  # the JSON body beyond client_max_size
        return problem(PayloadTooLarge, exc.text or "body is too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = about_blank(exc.status, exc.text or exc.reason)
        if "Allow" in exc.headers:  # 405 says which methods the path takes (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        if is_outage(exc):  # the Redis watcher logs the outage once; no traceback per call
            log.debug("request_unavailable", error=str(exc) or type(exc).__name__)
            return problem(
                Unavailable,
                "Redis did not serve this request; it may or may not have been carried out: "
                "send it again",
            )
        log.exception("request_failed", method=request.method, path=request.path)
        return problem(CcaasError, "the server failed; the error is logged")


problem_routes = web.RouteTableDef()


@problem_routes.get(PROBLEM_TYPES_PATH + "{kind}")
@operation(
    "What a problem type means: its title, status and when it happens",
    errors={404: "no such problem type"},
    needs_redis=False,
    roles=EVERYONE,
)
async def describe_problem(request: web.Request) -> web.Response:
    name = request.match_info["kind"]
    kind = PROBLEM_KINDS.get(name)
    if kind is None:
        known = ", ".join(sorted(PROBLEM_KINDS))
        raise NotFound(f"no problem type {name[:60]!r}; known: {known}", kind=name[:60])
    return web.json_response(
        {
            "type": problem_type(kind),
            "title": kind.title,
            "status": kind.status,
            "description": kind.about,
        }
    )
