"""Versions of the routing rules in Redis: publish (validated, refusing to strand contacts),
put in force here and everywhere, list, and read back."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import structlog

from ..domain.rules.compiled import CompiledRules
from ..domain.rules.file_header import split_header
from ..domain.rules.text import line_of, parse_rules, refused
from ..errors import ConfigError
from .context import StoreContext
from .scripts import Reply
from .stranded import StrandedCounter, stranded_channels

log = structlog.get_logger("ccaas.rules")


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

    async def reject_file(self, rejected: dict[str, Any]) -> None:
        """Keep `rejected` (JSON-able) as the last refused file save, seen by every replica."""
        await self.ctx.redis.set(self.ctx.keys.rules_last_rejected, json.dumps(rejected))

    async def last_rejected(self) -> dict[str, Any] | None:
        value = await self.ctx.redis.get(self.ctx.keys.rules_last_rejected)
        return dict(json.loads(value)) if value else None


async def load_version(ctx: StoreContext, version: int) -> CompiledRules:
    """Compile a stored version (ConfigError if it is missing or no longer valid)."""
    text = await RulesStore(ctx).text(version)
    if text is None:
        raise ConfigError(f"rules version {version} is not stored", version=version)
    return parse_rules(text, f"rules v{version}", version)


def swap(ctx: StoreContext, rules: CompiledRules) -> None:
    """Put `rules` in force here, unless this process already runs a newer version."""
    before = ctx.holder.current.version
    if rules.version > before:
        ctx.holder.current = rules
        log.info("rules_switched", version=rules.version, before=before)


async def publish_text(
    ctx: StoreContext, text: str, source: str, note: str = "", *, dedupe: bool = False
) -> CompiledRules:
    """Validate `text`, store it as the next version, put it in force here and everywhere.

    ConfigError (with each problem's line) when it is not valid, or when it removes a queue
    that still holds waiting or ringing contacts (they would be stranded): nothing changes.
    """
    rules, _ = await publish(ctx, text, source, note, dedupe=dedupe)
    return rules


async def publish(
    ctx: StoreContext, text: str, source: str, note: str = "", *, dedupe: bool = False
) -> tuple[CompiledRules, bool]:
    """publish_text, also saying whether a new version was made (False: with `dedupe`, the
    text is the one in force, and nothing changed)."""
    candidate = parse_rules(text, source)  # with its header line, if any: lines as sent
    await refuse_stranding(ctx, candidate, text, source)
    _, body = split_header(text)  # the file's version line is not part of the rules
    activated = await RulesStore(ctx).activate(body, source, note, dedupe=dedupe)
    rules = await load_version(ctx, activated.version)
    swap(ctx, rules)
    return rules, activated.created


async def _baseline(ctx: StoreContext) -> CompiledRules:
    """The rules in force in Redis (this process may lag behind), else this process's own."""
    version = await RulesStore(ctx).active_version()
    if version and version != ctx.rules.version:
        with contextlib.suppress(ConfigError):
            return await load_version(ctx, version)
    return ctx.rules


async def refuse_stranding(
    ctx: StoreContext, candidate: CompiledRules, text: str, source: str
) -> None:
    """ConfigError when `candidate` (parsed from `text`) would leave contacts where no router
    looks for them: in a queue it removes, or on a channel it takes away from their queue.
    Each problem has the line of that queue's `channels` in `text` (of `queues:` for a
    removed queue)."""
    lost = stranded_channels(await _baseline(ctx), candidate)
    if not lost:
        return
    held = await StrandedCounter(ctx).count(lost)
    problems = []
    for (queue, channel), n in sorted(
        held.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        if not n:
            continue
        if channel is None:
            loc: tuple[str, ...] = ("queues", queue)
            message = (
                f"queue {queue!r} is removed but {n} contact(s) still wait in it; keep it "
                "until it is empty (take it out of the profiles and rules meanwhile)"
            )
        else:
            loc = ("queues", queue, "channels")
            message = (
                f"queue {queue!r} would no longer take {channel} but {n} {channel} "
                "contact(s) still wait in it; keep the channel until they are answered"
            )
        problems.append({"line": line_of(text, loc), "field": ".".join(loc), "message": message})
    if problems:
        raise refused(source, problems)


async def refresh(ctx: StoreContext) -> None:
    """Catch up with the version in force now (a script said this process is behind)."""
    version = await RulesStore(ctx).active_version()
    if version and version != ctx.rules.version:
        swap(ctx, await load_version(ctx, version))
