"""`/console`: the agent console's page and its static files (no build step, no CDN)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..domain.roles import PUBLIC
from .auth import admits_roles

STATIC = Path(__file__).parent / "static" / "console"
console_routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# the page runs only its own script and style, talks only to this engine
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@console_routes.get("/console")
@admits_roles(PUBLIC)
async def console(request: web.Request) -> web.StreamResponse:
    headers = {**_NO_STORE, "Content-Security-Policy": _POLICY, "X-Frame-Options": "DENY"}
    return web.FileResponse(STATIC / "index.html", headers=headers)


@console_routes.get("/console/static/{name}")
@admits_roles(PUBLIC)
async def console_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("console.js", "console.css"):
        raise web.HTTPNotFound(text=f"no console file {name[:60]!r}")
    return web.FileResponse(STATIC / name, headers=_NO_STORE)
