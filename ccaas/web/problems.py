"""Errors as RFC 9457 problem+json responses that name the bad field; nothing else leaks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..errors import CcaasError

log = structlog.get_logger("ccaas.web")
Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, title: str, detail: str, **extra: Any) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/problem+json",
    )


class BadRequest(CcaasError):
    status = 400
    title = "Bad request"


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """Parse and validate a JSON body; invalid input raises before anything is changed."""
    raw = await request.read()
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not acceptable JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadRequest("body must be a JSON object")
    return model.model_validate(payload)


async def read_text(request: web.Request, limit: int) -> str:
    """A UTF-8 text body of at most `limit` bytes (bigger than the JSON body limit allows)."""
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(
                max_size=limit, actual_size=size, text=f"the body is limited to {limit} bytes"
            )
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body must be UTF-8 text") from exc


def _validation_problem(exc: ValidationError) -> web.Response:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid input", detail, errors=errors)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ValidationError as exc:
        return _validation_problem(exc)
    except CcaasError as exc:
        fields = {k: v for k, v in exc.fields.items() if v is not None}
        if "field" in fields:
            fields["errors"] = [{"field": fields["field"], "message": exc.detail}]
        return problem(exc.status, exc.title, exc.detail, **fields)
    except web.HTTPRequestEntityTooLarge as exc:
        return problem(413, "Payload too large", exc.text or "body is too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.reason, exc.text or exc.reason)
    except Exception:
        log.exception("request_failed", method=request.method, path=request.path)
        return problem(500, "Internal error", "the server failed; the error is logged")
