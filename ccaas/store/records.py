"""Turn the flat Redis hashes of contacts and agents into API-shaped dictionaries."""

from __future__ import annotations

import json
from typing import Any

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
)
_CONTACT_JSON = ("skills", "customer", "attributes")


def contact_record(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    for name in _CONTACT_INTS:
        if name in record:
            record[name] = int(float(record[name]))
    for name in _CONTACT_JSON:
        if name in record:
            record[name] = json.loads(record[name])
    record.pop("score", None)
    return record


def agent_record(raw: dict[str, str], work: dict[str, str]) -> dict[str, Any]:
    last_offer = {
        k.removeprefix("last_offer:"): int(v) for k, v in raw.items() if k.startswith("last_offer:")
    }
    return {
        "id": raw["id"],
        "name": raw.get("name", ""),
        "skills": json.loads(raw.get("skills", "{}")),
        "queues": json.loads(raw.get("queues", "[]")),
        "capacity": json.loads(raw.get("capacity", "{}")),
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
