"""Turn the flat Redis hashes of contacts and agents into API-shaped dictionaries."""

from __future__ import annotations

import json
from typing import Any

from ..domain.rules.compiled import CompiledRules

_CONTACT_INTS = (
    "priority",
    "first_enqueued_at",
    "enqueued_at",
    "created_at",
    "offer_count",
    "offered_at",
    "offer_expires_at",
    "connected_at",
    "handled_at",
    "wrap_up_until",
    "completed_at",
    "abandoned_at",
    "queue_since",
    "preferred_until",
    "rules_version",
    "body_bytes",
)
# JSON fields with the value meant when the field is absent (enqueue leaves empty ones out)
_CONTACT_JSON = {
    "skills": "{}",
    "customer": "null",
    "attributes": "{}",
    "priority_terms": "[]",
    "tags": "[]",
    "relaxed": "[]",
    "overflowed": "[]",
}


_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]", tuple: "[]"}
_LEFT_OUT = ("[]", "{}", "null", "")


def encode_fields(fields: dict[str, Any]) -> str:
    """A new contact's fields as enqueue.lua reads them: one JSON object of strings and
    numbers, structured values as JSON text; empty values are left out (readers default them)."""
    encoded: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, dict | list | tuple):
            text = json.dumps(value, sort_keys=True) if value else _EMPTY_JSON[type(value)]
        elif value is None:
            text = "null"
        else:
            text = value
        if text not in _LEFT_OUT:
            encoded[name] = text
    return json.dumps(encoded)


def contact_record(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    for name in _CONTACT_INTS:
        if name in record:
            record[name] = int(float(record[name]))
    for name, empty in _CONTACT_JSON.items():
        record[name] = json.loads(record.get(name) or empty)
    record.pop("score", None)
    return record


def agent_record(raw: dict[str, str], work: dict[str, str], rules: CompiledRules) -> dict[str, Any]:
    """The agent as the API shows it: its own settings and what the rules in force make of them."""
    profile = raw.get("profile", "")
    own_queues = json.loads(raw.get("queues", "[]"))
    own_capacity = json.loads(raw.get("capacity", "{}"))
    memberships = rules.memberships(profile, own_queues)
    last_offer = {
        k.removeprefix("last_offer:"): int(v) for k, v in raw.items() if k.startswith("last_offer:")
    }
    return {
        "id": raw["id"],
        "name": raw.get("name", ""),
        "skills": json.loads(raw.get("skills", "{}")),
        "profile": profile or None,
        "own_queues": own_queues,
        "own_capacity": own_capacity,
        "queues": {
            name: {"priority": m.priority, "delay_seconds": m.delay_ms / 1000}
            for name, m in sorted(memberships.items())
        },
        "capacity": rules.capacity(profile, own_capacity),
        "max_total": rules.max_total(profile) or None,
        "presence": raw["presence"],
        "away_reason": raw.get("away_reason") or None,
        "idle_since": int(raw["idle_since"]),
        "missed_offers": int(raw.get("missed", 0)),
        "last_offer": last_offer,
        "work": [
            {"contact_id": cid, "state": entry.split(":", 1)[0], "channel": entry.split(":", 1)[1]}
            for cid, entry in sorted(work.items())
        ],
    }
