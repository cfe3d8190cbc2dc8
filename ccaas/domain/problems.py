"""Errors as RFC 9457 problem objects: the body of an HTTP problem+json answer, a websocket
error frame and an MQTT errors-topic message alike."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..errors import BadRequest, CcaasError, InvalidInput
from .strict_json import UnsafeJson, loads_strict

PROBLEM_TYPES_PATH = "/v1/problems/"


def problem_type(kind: type[CcaasError]) -> str:
    """The problem type URI of a kind: a reference resolved against the API's own address."""
    return PROBLEM_TYPES_PATH + kind.kind


def problem_object(exc: CcaasError) -> dict[str, Any]:
    """The problem an error is: type, title, status, detail and its fields (a `field` is
    also listed in `errors`, as a validation error's are)."""
    fields = {k: v for k, v in exc.fields.items() if v is not None}
    if "field" in fields:
        fields["errors"] = [{"field": fields["field"], "message": exc.detail}]
    kind = type(exc)
    body = {"type": problem_type(kind), "title": kind.title, "status": kind.status}
    return body | {"detail": exc.detail} | {k: v for k, v in fields.items() if k not in body}


def invalid_input(exc: ValidationError) -> InvalidInput:
    """pydantic's errors as one InvalidInput listing each field and its message."""
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors()
    ]
    return InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object read strictly from UTF-8 bytes (empty reads as {}, so a model's answer
    names the fields it requires); BadRequest or InvalidInput saying what is wrong."""
    try:
        payload = loads_strict((raw or b"{}").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    except UnsafeJson as exc:
        raise InvalidInput(str(exc), errors=exc.errors) from exc
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not acceptable JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadRequest("body must be a JSON object")
    try:  # JSON may escape a lone surrogate (\ud800), which is no text: refuse it here
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("body holds a lone UTF-16 surrogate (\\ud800-\\udfff), not text") from exc
    return payload
