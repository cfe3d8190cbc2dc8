"""Versions of the routing rules in Redis: store, put in force, list, and read back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .context import StoreContext
from .scripts import Reply


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Activated:
    version: int
    created: bool


class RulesStore:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def activate(
        self, text: str, source: str, note: str = "", *, dedupe: bool = False
    ) -> Activated:
        """Store already-validated rules as the next version and put them in force everywhere."""
        keys, now = self.ctx.keys, self.ctx.clock.now_ms()
        meta = {"created_at": now, "source": source, "checksum": checksum(text), "note": note}
        answer = await self.ctx.scripts.activate_rules(
            keys=[
                keys.rules_seq,
                keys.rules_active,
                keys.rules_texts,
                keys.rules_meta,
                keys.events,
            ],
            args=[text, json.dumps(meta), now, keys.rules_channel, "dedupe" if dedupe else ""],
        )
        version, created = Reply.decode(answer).values
        return Activated(int(version), bool(created))

    async def active_version(self) -> int:
        return int(await self.ctx.redis.get(self.ctx.keys.rules_active) or 0)

    async def text(self, version: int) -> str | None:
        text: str | None = await self.ctx.redis.hget(self.ctx.keys.rules_texts, str(version))
        return text

    async def versions(self) -> list[dict[str, Any]]:
        """Every stored version, newest first, with its metadata and whether it is in force."""
        active = await self.active_version()
        meta = await self.ctx.redis.hgetall(self.ctx.keys.rules_meta)
        return [
            {"version": int(v), **json.loads(m), "active": int(v) == active}
            for v, m in sorted(meta.items(), key=lambda item: -int(item[0]))
        ]

    async def file_checksum(self) -> str | None:
        """Checksum of the rules file text last accepted, so an unchanged file is not re-sent."""
        value: str | None = await self.ctx.redis.get(self.ctx.keys.rules_file)
        return value

    async def note_file(self, text: str) -> None:
        await self.ctx.redis.set(self.ctx.keys.rules_file, checksum(text))
