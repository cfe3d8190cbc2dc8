"""Reads what GET /v1/contacts/{id}/explain shows: classification, score, steps, candidates."""

from __future__ import annotations

import json
from typing import Any

from ..domain.rules import explain
from .contacts import read_contact
from .context import StoreContext
from .snapshot import CONTACT_FIELDS, SnapshotReader, waiting_contact


class ExplainRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def explain(self, contact_id: str) -> dict[str, Any]:
        raw = await read_contact(self.ctx, contact_id)
        rules, now = self.ctx.rules, self.ctx.clock.now_ms()
        contact = waiting_contact(
            contact_id, float(raw.get("score", 0)), [raw.get(f) for f in CONTACT_FIELDS]
        )
        rule = rules.rule(contact.rule)
        relaxed = json.loads(raw.get("relaxed") or "[]")
        waiting = raw["state"] == "queued"
        result: dict[str, Any] = {
            "contact_id": contact_id,
            "state": raw["state"],
            "queue": contact.queue,
            "channel": contact.channel.value,
            "evaluated_at": now,
            "rules_version": rules.version,
            "classification": {
                "rule": contact.rule or None,
                "when": rule.rule.when if rule is not None else None,
                "rules_version": int(raw.get("rules_version") or 0),
                "overflowed": [
                    {"from_queue": q, "reason": why}
                    for q, why in json.loads(raw.get("overflowed") or "[]")
                ],
                "tags": json.loads(raw.get("tags") or "[]"),
                "preferred_agent": raw.get("preferred_note") or None,
            },
            "requirements": dict(contact.skills),
            "score": explain.score_terms(
                contact, json.loads(raw.get("priority_terms") or "[]"), relaxed, rules
            ),
            "relaxation": {
                "applied": relaxed,
                "pending": explain.pending_steps(contact, rules) if waiting else [],
            },
        }
        if waiting:
            agents = await SnapshotReader(self.ctx).agents()
            result["candidates"] = explain.candidates(contact, agents, rules, now)
            rank = await self.ctx.redis.zrank(
                self.ctx.keys.queue_waiting(contact.queue), contact_id
            )
            result["position"] = rank + 1 if rank is not None else None
        else:
            result["candidates"] = []
            result["agent_id"] = raw.get("agent_id") or None
        return result
