"""Admin API for the routing rules: read, replace, validate, list versions and roll back."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from ..domain.roles import ADMIN_ONLY, STAFF
from ..domain.rules.compiled import summary
from ..domain.rules.text import parse_rules
from ..errors import BadRequest, ConfigError, NotFound, RulesRejected
from ..store.rules_store import RulesStore, publish, refuse_stranding
from .openapi import JSON_LIST, YAML_BODY, operation
from .problems import path_number, read_text
from .services import services

log = structlog.get_logger("ccaas.admin")
admin_routes = web.RouteTableDef()
MAX_RULES_BYTES = 1024 * 1024


async def _rules_text(request: web.Request) -> str:
    """The YAML body, up to MAX_RULES_BYTES (rules are bigger than API bodies)."""
    text = await read_text(request, MAX_RULES_BYTES)
    if not text.strip():
        raise BadRequest("the body is empty: send the routing YAML")
    return text


def _rejected(exc: ConfigError, source: str) -> RulesRejected:
    errors = exc.fields.get("problems") or [{"line": None, "field": None, "message": exc.detail}]
    log.warning("rules_rejected", source=source, errors=exc.detail)
    return RulesRejected(
        f"the rules were not accepted ({len(errors)} problem(s)); the rules in force are unchanged",
        errors=errors,
    )


async def _version_info(request: web.Request, version: int) -> dict[str, Any]:
    for item in await RulesStore(services(request).ctx).versions():
        if item["version"] == version:
            return dict(item)
    return {"version": version}


@admin_routes.get("/v1/admin/rules")
@operation(
    "The rules version in force, with its YAML, and the last refused file save",
    roles=STAFF,
)
async def get_rules(request: web.Request) -> web.Response:
    ctx = services(request).ctx
    store = RulesStore(ctx)
    version = await store.active_version()
    info: dict[str, Any] = {"version": 0, "source": "built-in"}
    if version:
        info = await _version_info(request, version)
    info["yaml"] = await store.text(version) if version else None
    info["summary"] = summary(ctx.rules)
    info["loaded_here"] = ctx.rules.version
    info["last_rejected"] = await store.last_rejected()
    return web.json_response(info)


@admin_routes.put("/v1/admin/rules")
@operation(
    "Publish new rules (YAML body): validated, stored, in force everywhere",
    body=YAML_BODY,
    ok={
        200: "that text is already in force: nothing changed (changed: false)",
        201: "in force as a new version (changed: true)",
    },
    errors={
        400: "empty or not UTF-8",
        413: "larger than 1 MiB",
        422: "rejected: errors[] with line, field and message",
    },
    roles=ADMIN_ONLY,
)
async def put_rules(request: web.Request) -> web.Response:
    ctx, text = services(request).ctx, await _rules_text(request)
    note = request.headers.get("X-Change-Note", "")[:200]
    try:
        rules, created = await publish(ctx, text, "api", note, dedupe=True)
    except ConfigError as exc:
        raise _rejected(exc, "api") from exc
    if created:
        log.info("rules_published", version=rules.version, source="api")
    info = await _version_info(request, rules.version)
    return web.json_response(
        {**info, "summary": summary(rules), "changed": created}, status=201 if created else 200
    )


@admin_routes.post("/v1/admin/rules/validate")
@operation(
    "Check rules (YAML body) as PUT would, against the live state, without changing anything",
    body=YAML_BODY,
    errors={
        400: "empty or not UTF-8",
        413: "larger than 1 MiB",
        422: "rejected: errors[] with line, field and message",
    },
    roles=ADMIN_ONLY,
)
async def validate_rules(request: web.Request) -> web.Response:
    ctx, text = services(request).ctx, await _rules_text(request)
    try:
        rules = parse_rules(text, "body")
        await refuse_stranding(ctx, rules, text, "body")
    except ConfigError as exc:
        raise _rejected(exc, "validate") from exc
    return web.json_response({"valid": True, "summary": summary(rules)})


@admin_routes.get("/v1/admin/rules/versions")
@operation(
    "Every stored version, newest first",
    result=JSON_LIST,
    roles=STAFF,
)
async def list_versions(request: web.Request) -> web.Response:
    return web.json_response(await RulesStore(services(request).ctx).versions())


@admin_routes.get("/v1/admin/rules/versions/{version}")
@operation(
    "One stored version: its metadata and its YAML text",
    errors={404: "no such version", 422: "not a version number (errors[].field is version)"},
    roles=STAFF,
)
async def get_version(request: web.Request) -> web.Response:
    version = path_number(request, "version")
    text = await RulesStore(services(request).ctx).text(version)
    if text is None:
        raise NotFound(f"no rules version {version}", version=version)
    return web.json_response({**(await _version_info(request, version)), "yaml": text})


@admin_routes.post("/v1/admin/rules/rollback/{version}")
@operation(
    "Put an old version's text in force again, as a new version",
    ok={
        200: "that text is already in force: nothing changed (changed: false)",
        201: "in force as a new version (changed: true)",
    },
    errors={
        404: "no such version",
        422: "not a version number (errors[].field is version), or refused: it would strand "
        "waiting contacts, or no longer compiles",
    },
    roles=ADMIN_ONLY,
)
async def rollback(request: web.Request) -> web.Response:
    ctx, version = services(request).ctx, path_number(request, "version")
    text = await RulesStore(ctx).text(version)
    if text is None:
        raise NotFound(f"no rules version {version}", version=version)
    try:
        # dedupe: the text in force already (that very version, or an equal one) changes nothing
        rules, created = await publish(
            ctx, text, "rollback", f"rollback to version {version}", dedupe=True
        )
    except ConfigError as exc:
        raise _rejected(exc, "rollback") from exc
    if created:
        log.info("rules_rolled_back", version=rules.version, to=version)
    info = await _version_info(request, rules.version)
    return web.json_response(
        {**info, "rolled_back_to": version, "changed": created}, status=201 if created else 200
    )
