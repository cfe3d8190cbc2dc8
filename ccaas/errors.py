"""The one exception family of ccaas; each error carries the fields needed to act on it."""

from __future__ import annotations

from typing import Any


class CcaasError(Exception):
    """Base of every error ccaas raises on purpose."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class InvalidInput(CcaasError):
    """The caller sent something that cannot be accepted; nothing was changed."""

    status = 422
    title = "Invalid input"


class NotFound(CcaasError):
    """The named contact, agent, offer or queue does not exist."""

    status = 404
    title = "Not found"


class Conflict(CcaasError):
    """The request is valid but the current state does not allow it."""

    status = 409
    title = "Conflict"


class ConfigError(CcaasError):
    """A configuration file or setting is wrong; the message names where."""

    status = 500
    title = "Configuration error"


class ContactRejected(CcaasError):
    """The contact is valid but cannot be queued: no rule takes it, or closed or full."""

    status = 409
    title = "Contact not queued"

    def __init__(self, rejection: Any) -> None:
        super().__init__(
            f"contact not queued: {rejection}",
            reason=rejection.reason,
            queue=rejection.queue,
            rule=rejection.rule,
        )


class RulesRejected(CcaasError):
    """Routing rules that cannot be used; `errors` lists {line, field, message} for each."""

    status = 422
    title = "Rules rejected"
