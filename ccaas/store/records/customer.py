"""The customer codec: the profile hash (with its identity set) as a typed record."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROFILE_TEXT = ("name", "tier", "language", "segment", "last_agent")
PROFILE_JSON = ("consent", "extras")


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A live customer (the tombstones of merged and erased ones are read as such, not so)."""

    id: str
    created_at: int
    updated_at: int
    text: dict[str, str | None] = field(default_factory=dict)  # PROFILE_TEXT fields
    lifetime_value: float | None = None
    consent: dict[str, bool] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    identities: tuple[tuple[str, str], ...] = ()  # (kind, value), sorted
    merged_from: list[str] = field(default_factory=list)

    @classmethod
    def decode(cls, raw: Mapping[str, str], identities: Iterable[str]) -> CustomerRecord:
        value = raw.get("lifetime_value")
        return cls(
            id=raw["id"],
            created_at=int(raw["created_at"]),
            updated_at=int(raw["updated_at"]),
            text={name: raw.get(name) or None for name in PROFILE_TEXT},
            lifetime_value=float(value) if value is not None else None,
            consent=json.loads(raw.get("consent") or "{}"),
            extras=json.loads(raw.get("extras") or "{}"),
            identities=tuple(
                (kind, rest) for kind, _, rest in (key.partition(":") for key in sorted(identities))
            ),
            merged_from=json.loads(raw.get("merged_from") or "[]"),
        )

    @staticmethod
    def encode_changes(changes: Mapping[str, Any]) -> dict[str, str | bool]:
        """Profile changes as update_customer.lua takes them: text, JSON text, or False to
        remove the field (a change to None)."""
        encoded: dict[str, str | bool] = {}
        for name, value in changes.items():
            if value is None:
                encoded[name] = False
            elif name in PROFILE_JSON:
                encoded[name] = json.dumps(value, sort_keys=True)
            else:
                encoded[name] = str(value)
        return encoded

    def api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.text,
            "lifetime_value": self.lifetime_value,
            "consent": self.consent,
            "extras": self.extras,
            "identities": [{"kind": kind, "value": value} for kind, value in self.identities],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "merged_from": self.merged_from,
        }
