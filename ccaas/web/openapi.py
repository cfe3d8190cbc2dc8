"""The OpenAPI 3.1 document of the HTTP API, built from the request models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from .. import __version__
from .schemas import (
    AgentIn,
    CompleteIn,
    ContactIn,
    CustomerPatchIn,
    IdentitiesIn,
    MergeIn,
    PresenceIn,
)

_PROBLEM = {"description": "problem+json", "content": {"application/problem+json": {}}}
_JSON = {"application/json": {"schema": {"type": "object"}}}
_YAML = {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}


def _op(summary: str, body: type[BaseModel] | None = None, ok: str = "200", **codes: str) -> Any:
    responses: dict[str, Any] = {ok: {"description": "OK", "content": _JSON}}
    for code, why in codes.items():
        responses[code.removeprefix("r")] = {**_PROBLEM, "description": why}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}
            },
        }
    return op


def _id(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


@cache
def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (
        ContactIn,
        CompleteIn,
        AgentIn,
        PresenceIn,
        CustomerPatchIn,
        IdentitiesIn,
        MergeIn,
    ):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    invalid = {"r400": "malformed JSON", "r413": "body too large", "r422": "invalid field"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "ccaas routing API", "version": __version__},
        "paths": {
            "/healthz": {"get": _op("Redis reachable", r503="Redis unreachable")},
            "/v1/contacts": {
                "post": {
                    **_op(
                        "Classify and enqueue a contact (idempotent by channel + external_id)",
                        ContactIn,
                        ok="201",
                        r409="not queued: no rule takes it, or its queue is closed or full",
                        **invalid,
                    ),
                }
            },
            "/v1/contacts/{id}": {
                "parameters": _id("id"),
                "get": _op("A contact with its state and queue position", r404="unknown"),
                "delete": _op("The customer abandoned", r404="unknown", r409="not waiting"),
            },
            "/v1/contacts/{id}/explain": {
                "parameters": _id("id"),
                "get": _op(
                    "Why the contact is where it is: rule, score terms, relaxation steps and "
                    "each candidate agent with its rank or the reason it cannot take it",
                    r404="unknown",
                ),
            },
            "/v1/contacts/{id}/body": {
                "parameters": _id("id"),
                "put": {
                    **_op(
                        "Keep the contact's long body (text, ≤ 512 KiB; ?kind=transcript|"
                        "email|message)",
                        r400="empty or not UTF-8",
                        r404="unknown",
                        r413="too large",
                    ),
                    "requestBody": {"required": True, "content": {"text/plain": {}}},
                },
                "get": _op("The contact's long body as text", r404="unknown or none"),
            },
            "/v1/contacts/{id}/complete": {
                "parameters": _id("id"),
                "post": _op(
                    "Finish a connected contact",
                    CompleteIn,
                    r404="unknown",
                    r409="not connected",
                    **invalid,
                ),
            },
            "/v1/agents": {"get": _op("Every agent")},
            "/v1/agents/{id}": {
                "parameters": _id("id"),
                "put": _op("Create or replace an agent's profile", AgentIn, **invalid),
                "get": _op("An agent: presence, offers and work", r404="unknown"),
            },
            "/v1/agents/{id}/presence": {
                "parameters": _id("id"),
                "put": _op("Set presence", PresenceIn, r404="unknown", **invalid),
            },
            "/v1/offers/{id}/accept": {
                "parameters": _id("id"),
                "post": _op("Accept an offer", r404="unknown", r409="no longer pending"),
            },
            "/v1/offers/{id}/reject": {
                "parameters": _id("id"),
                "post": _op("Reject an offer", r404="unknown", r409="no longer pending"),
            },
            "/v1/admin/rules": {
                "get": _op("The rules version in force, with its YAML"),
                "put": {
                    **_op(
                        "Publish new rules (YAML body): validated, stored, in force everywhere",
                        ok="201",
                        r400="empty or not UTF-8",
                        r413="larger than 1 MiB",
                        r422="rejected: errors[] with line, field and message",
                    ),
                    "requestBody": _YAML,
                },
            },
            "/v1/admin/rules/validate": {
                "post": {
                    **_op("Check rules (YAML body) without changing anything", r422="rejected"),
                    "requestBody": _YAML,
                }
            },
            "/v1/admin/rules/versions": {"get": _op("Every stored version, newest first")},
            "/v1/admin/rules/rollback/{version}": {
                "parameters": _id("version"),
                "post": _op(
                    "Put an old version's text in force again, as a new version",
                    ok="201",
                    r404="no such version",
                ),
            },
            "/v1/customers": {
                "get": {
                    **_op(
                        "Find a customer by one identity",
                        r400="not exactly one identity",
                        r404="nobody has it",
                        r422="the identity cannot be read",
                    ),
                    "parameters": [
                        {
                            "name": kind,
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                        for kind in ("phone", "email", "handle", "visitor", "login")
                    ],
                }
            },
            "/v1/customers/{id}": {
                "parameters": _id("id"),
                "get": _op("A customer: profile and identities", r404="unknown or erased"),
                "patch": _op(
                    "Set or remove profile fields", CustomerPatchIn, r404="unknown", **invalid
                ),
                "delete": _op("Erase the customer's personal data and identities", r404="unknown"),
            },
            "/v1/customers/{id}/timeline": {
                "parameters": _id("id"),
                "get": _op(
                    "The customer's contacts on every channel, newest first", r404="unknown"
                ),
            },
            "/v1/customers/{id}/identities": {
                "parameters": _id("id"),
                "post": _op(
                    "Link identities",
                    IdentitiesIn,
                    r404="unknown",
                    r409="an identity belongs to another customer",
                    **invalid,
                ),
            },
            "/v1/customers/{id}/merge": {
                "parameters": _id("id"),
                "post": _op(
                    "Join another customer into this one",
                    MergeIn,
                    r404="unknown",
                    r409="merged already, or itself",
                    **invalid,
                ),
            },
            "/v1/queues": {"get": _op("Live figures of every queue")},
            "/v1/queues/{name}": {
                "parameters": _id("name"),
                "get": _op("Live figures of one queue", r404="unknown"),
            },
        },
        "components": {"schemas": schemas},
    }
