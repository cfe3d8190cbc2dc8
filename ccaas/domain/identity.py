"""Customer identities in one canonical form, so that the same person is found on any channel.

- phone: E.164 (`phonenumbers`), national numbers read in the tenant's default region;
- email: `email-validator`'s normalised form with the local part lower-cased too, so
  Jo.Bloggs@Example.COM and jo.bloggs@example.com are the same address. Dots and
  +tags are kept: jo.bloggs+bank@x.com is another address than jobloggs@x.com;
- handle: "network:id" for a known network, the id without a leading @, lower-cased;
- visitor, login: a chat visitor id or a login, trimmed, kept as given (1..200 characters);
- account: the business's own customer number (its CRM id, e.g. CUST-1001), trimmed and kept
  as given: CRM ids may tell case apart (Salesforce ids do), so case is not folded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .values import did_you_mean

NETWORKS = frozenset(
    {"x", "facebook", "instagram", "whatsapp", "messenger", "linkedin", "tiktok", "telegram"}
)
MAX_LENGTH = 200


class IdentityKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    HANDLE = "handle"
    VISITOR = "visitor"
    LOGIN = "login"
    ACCOUNT = "account"


IDENTITY_FIELDS = tuple(kind.value for kind in IdentityKind)  # as named in API bodies


class InvalidIdentity(ValueError):
    """The identity cannot be read; the message says why in words a caller can act on."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    kind: IdentityKind
    value: str

    @property
    def key(self) -> str:
        """ "kind:value", the form stored in the identity index."""
        return f"{self.kind.value}:{self.value}"


def normalise_phone(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity("phone", f"phone {raw!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity("phone", f"phone {raw!r} is not a valid number (region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    try:
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity("email", f"email {raw!r} is not valid: {exc}") from exc
    local, _, domain = valid.normalized.rpartition("@")
    return f"{local.lower()}@{domain.lower()}"


def normalise_handle(raw: str) -> str:
    network, sep, handle = raw.strip().partition(":")
    network = network.lower()
    if not sep or network not in NETWORKS:
        raise InvalidIdentity(
            "handle",
            f"handle {raw!r} must be network:id with a network of "
            f"{', '.join(sorted(NETWORKS))}{did_you_mean(network, NETWORKS)}",
        )
    handle = handle.strip().lstrip("@").lower()
    if not handle or len(handle) > MAX_LENGTH or any(ch.isspace() for ch in handle):
        raise InvalidIdentity("handle", f"handle {raw!r} has no usable id after the network")
    return f"{network}:{handle}"


def _plain(kind: str, raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > MAX_LENGTH:
        raise InvalidIdentity(kind, f"{kind} must be 1..{MAX_LENGTH} characters")
    return value


def identity(kind: str, raw: str, region: str) -> Identity:
    """The canonical identity; InvalidIdentity names what is wrong."""
    try:
        known = IdentityKind(kind)
    except ValueError as exc:
        kinds = [k.value for k in IdentityKind]
        raise InvalidIdentity(
            kind, f"unknown identity kind {kind!r}{did_you_mean(kind, kinds)}"
        ) from exc
    if not isinstance(raw, str):
        raise InvalidIdentity(kind, f"{kind} must be a string")
    if len(raw) > 4 * MAX_LENGTH:
        raise InvalidIdentity(kind, f"{kind} is too long")
    if known is IdentityKind.PHONE:
        return Identity(known, normalise_phone(raw, region))
    if known is IdentityKind.EMAIL:
        return Identity(known, normalise_email(raw))
    if known is IdentityKind.HANDLE:
        return Identity(known, normalise_handle(raw))
    return Identity(known, _plain(kind, raw))
