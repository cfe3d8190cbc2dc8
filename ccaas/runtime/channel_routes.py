"""The native channels' webhooks as routes of the app, described like every other route
(public: each channel proves its requests with the provider's own signature)."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ..channels.webhooks import Webhook
from ..domain.roles import PUBLIC
from ..web.openapi import operation

FORM_BODY = {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
TWIML = {"text/xml": {"schema": {"type": "string"}}}
WEBHOOK_ERRORS = {
    401: "the provider's signature is missing or does not sign this request: nothing changed",
    503: "the channel is not configured (nothing changed), or Redis is not serving",
}


def add_webhooks(app: web.Application, webhooks: Iterable[Webhook]) -> None:
    for hook in webhooks:
        described = operation(
            hook.summary,
            roles=PUBLIC,
            body=FORM_BODY,
            ok=hook.ok,
            errors={**WEBHOOK_ERRORS, **hook.errors},
            result=TWIML,
        )(hook.handler)
        app.router.add_route(hook.method, hook.path, described)
