"""The one exception family of ccaas; each error carries the fields needed to act on it."""

from __future__ import annotations

from typing import Any


class CcaasError(Exception):
    """Base of every error ccaas raises on purpose.

    Each subclass is one kind of problem: `kind` names it (HTTP answers it as the problem type
    /v1/problems/{kind}), `title` and `status` never vary with the instance, and `about` says
    to an API user when it happens. Per-instance words go in `detail` and the fields.
    """

    status = 500
    title = "Internal error"
    kind = "internal-error"
    about = "The server failed; the error is logged with the request id, nothing more is said."

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class InvalidInput(CcaasError):
    """The caller sent something that cannot be accepted; nothing was changed."""

    status = 422
    title = "Invalid input"
    kind = "invalid-input"
    about = (
        "A field or parameter is wrong (type, range, unknown name, unknown field); `errors` "
        "lists each with its `field` and `message`. Nothing was changed."
    )


class BadRequest(CcaasError):
    """What was sent cannot be read: not JSON, not an object, not UTF-8, empty."""

    status = 400
    title = "Bad request"
    kind = "bad-request"
    about = (
        "The request cannot be read: the body is not JSON, not a JSON object, not UTF-8 or "
        "empty. Nothing was changed."
    )


class PayloadTooLarge(CcaasError):
    """What was sent is larger than the call takes."""

    status = 413
    title = "Payload too large"
    kind = "payload-too-large"
    about = (
        "The body is larger than the call takes: CCAAS_MAX_BODY_BYTES (default 64 KiB) for JSON, "
        "512 KiB for a contact's long body, 1 MiB for routing rules. Nothing was changed."
    )


class NotFound(CcaasError):
    """The named contact, agent, offer or queue does not exist."""

    status = 404
    title = "Not found"
    kind = "not-found"
    about = (
        "The contact, agent, offer, queue, customer or rules version named in the path or "
        "the body does not exist (or the customer was erased)."
    )


class Conflict(CcaasError):
    """The request is valid but the current state does not allow it."""

    status = 409
    title = "Conflict"
    kind = "conflict"
    about = (
        "The request is valid but the current state does not allow it, e.g. accepting an offer "
        "that rang out or linking an identity another customer has. Nothing was changed."
    )


class CustomerErased(Conflict):
    """The contact's customer was erased: it takes no new personal data."""

    title = "Customer erased"
    kind = "customer-erased"
    about = (
        "The contact's customer was erased, so the contact takes no new personal data (a "
        "body, attributes). It can still be completed; notes sent then are not stored. "
        "Nothing was changed."
    )


class Unauthorized(CcaasError):
    """No token, or one that is not valid here: expired, badly signed, another tenant's."""

    status = 401
    title = "Unauthorized"
    kind = "unauthorized"
    about = (
        "The call needs a bearer token (Authorization: Bearer <token>) and none was sent, or "
        "the token is not valid here: expired, not signed by this engine, or another "
        "tenant's. Agents get one by signing in (POST /v1/auth/sign-in); integrations from "
        "`ccaas token create`. Nothing was changed."
    )
    challenge = 'Bearer realm="ccaas"'  # the WWW-Authenticate header of the answer


class SignInThrottled(CcaasError):
    """Too many failed sign-ins of this agent id, or from this address, in a short while."""

    status = 429
    title = "Sign-in throttled"
    kind = "sign-in-throttled"
    about = (
        "Too many sign-ins of this agent id, or from this address, failed within 15 minutes; "
        "none is tried until `Retry-After` seconds have passed. Nothing was changed."
    )

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class Forbidden(CcaasError):
    """The token is valid but its role, or the agent it names, may not do this."""

    status = 403
    title = "Forbidden"
    kind = "forbidden"
    about = (
        "The token is valid but may not make this call: its `role` is not one the call "
        "admits (`allowed` lists them), or an agent's token names another agent's desk, "
        "offer or work, or a customer that agent never served. Nothing was changed."
    )


class ConfigError(CcaasError):
    """A configuration file or setting is wrong; the message names where."""

    status = 500
    title = "Configuration error"
    kind = "configuration-error"
    about = "A configuration file or setting of the server is wrong; the detail names where."


class ContactRejected(CcaasError):
    """The contact is valid but cannot be queued: no rule takes it, or closed or full."""

    status = 409
    title = "Contact not queued"
    kind = "contact-rejected"
    about = (
        "The contact is valid but cannot be queued: `reason` is `no_rule` (no rule takes it), "
        "`closed` or `full`, with the `queue` and `rule` it got to. The contact is not stored."
    )

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
    kind = "rules-rejected"
    about = (
        "Routing rules that cannot be used; `errors` lists each problem with its `line`, "
        "`field` and `message`. The rules in force are unchanged."
    )


class Unavailable(CcaasError):
    """Redis, where every state lives, cannot be reached or is not answering."""

    status = 503
    title = "Service unavailable"
    kind = "unavailable"
    about = (
        "Redis, where every contact and agent lives, cannot be reached, is not answering or "
        "holds no data yet; try again after `Retry-After` seconds. A write answered with this "
        "may or may not have happened: send it again (new contacts are idempotent by channel "
        "and external_id; accepting, rejecting and completing are safe to repeat)."
    )
    retry_after_seconds = 1


class IntakeBusy(CcaasError):
    """This process has as many arrivals under way as it admits; this one was not taken."""

    status = 429
    title = "Intake busy"
    kind = "intake-busy"
    about = (
        "This replica already has as many new contacts under way as it admits "
        "(CCAAS_INTAKE_MAX_IN_FLIGHT, `limit`); the request was refused at once and nothing "
        "was changed: send it again after `Retry-After` seconds (new contacts are idempotent "
        "by channel and external_id)."
    )
    retry_after_seconds = 1


class NotConfigured(CcaasError):
    """The channel's credentials are not set, so nothing it receives can be trusted."""

    status = 503
    title = "Channel not configured"
    kind = "channel-not-configured"
    about = (
        "The channel this webhook belongs to has no credentials set (for Twilio voice: "
        "CCAAS_TWILIO_AUTH_TOKEN and CCAAS_PUBLIC_URL), so its requests cannot be checked. "
        "Nothing was changed."
    )


class ChatThrottled(CcaasError):
    """Too many web chats were started from one address (or browser) lately."""

    status = 429
    title = "Too many chats"
    kind = "chat-throttled"
    about = (
        "The web chat takes a few new chats per address and per browser in a window (a "
        "browser's open chat is given back, not made again). Retry after Retry-After. "
        "Nothing was changed."
    )

    def __init__(self, detail: str, retry_after: int = 60, **fields: object) -> None:
        super().__init__(detail, **fields)
        self.retry_after_seconds = retry_after
