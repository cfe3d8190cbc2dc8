"""Reads what GET /v1/contacts/{id}/explain shows: classification, score, steps, candidates."""

from __future__ import annotations

from typing import Any

from ..domain.models import ContactState
from ..domain.rules import explain
from .contacts import read_contact
from .context import StoreContext
from .records.contact import WAITING_FIELDS, ContactRecord, waiting_view
from .snapshot import SnapshotReader


def _preferred(record: ContactRecord) -> dict[str, Any] | None:
    """The preferred-agent hold: {agent, hold: applied | not_applied, reason, note}."""
    if record.preferred_hold is None:
        if not record.preferred_note:
            return None
        return {"note": record.preferred_note}  # stored before holds were explained
    return {**record.preferred_hold, "note": record.preferred_note}


def _ringing_first(rows: list[dict[str, Any]], agent_id: str) -> list[dict[str, Any]]:
    """While the contact rings: its agent first, marked `offered` (the offer fills its room
    and restarts its idle time, so it is not ranked), then the others ranked as the router
    would offer the contact next if this offer ended."""
    ringing = [{**row, "offered": True} for row in rows if row["agent"] == agent_id]
    for row in ringing:
        for field in ("eligible", "reason", "detail", "rank", "rank_key"):
            row.pop(field, None)
    others = [
        {k: v for k, v in row.items() if k != "rank"} for row in rows if row["agent"] != agent_id
    ]
    for rank, row in enumerate((r for r in others if r["eligible"]), start=1):
        row["rank"] = rank
    return ringing + others


class ExplainRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def explain(self, contact_id: str) -> dict[str, Any]:
        raw = await read_contact(self.ctx, contact_id)
        rules, now = self.ctx.rules, self.ctx.clock.now_ms()
        record = ContactRecord.decode(raw)
        contact = waiting_view(
            contact_id, record.score or 0.0, [raw.get(f) for f in WAITING_FIELDS]
        )
        rule = rules.rule(contact.rule)
        relaxed = record.relaxed
        waiting = record.state is ContactState.QUEUED
        ringing = record.state is ContactState.OFFERED and record.agent_id is not None
        result: dict[str, Any] = {
            "contact_id": contact_id,
            "state": record.state.value if record.state else None,
            "queue": contact.queue,
            "channel": contact.channel.value,
            "evaluated_at": now,
            "rules_version": rules.version,
            "classification": {
                "rule": contact.rule or None,
                "when": rule.rule.when if rule is not None else None,
                "rules_version": record.rules_version or 0,
                "overflowed": [{"from_queue": q, "reason": why} for q, why in record.overflowed],
                "tags": record.tags,
                "preferred_agent": _preferred(record),
            },
            "requirements": dict(contact.skills),
            "score": explain.score_terms(contact, record.priority_terms, relaxed, rules),
            "relaxation": {
                "applied": relaxed,
                "pending": explain.pending_steps(contact, rules) if waiting else [],
            },
        }
        if waiting or ringing:
            agents = await SnapshotReader(self.ctx).agents()
            result["candidates"] = explain.candidates(contact, agents, rules, now)
        if ringing and record.agent_id is not None:
            result["candidates"] = _ringing_first(result["candidates"], record.agent_id)
        if ringing:
            result["agent_id"] = record.agent_id
        elif waiting:
            rank = await self.ctx.redis.zrank(
                self.ctx.keys.queue_waiting(contact.queue), contact_id
            )
            result["position"] = rank + 1 if rank is not None else None
        else:
            result["candidates"] = []
            result["agent_id"] = record.agent_id
        return result
