"""Keeps every replica on the same rules: load at start, follow new versions, watch the file."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import structlog
from watchfiles import awatch

from ..domain.rules import CompiledRules
from ..errors import ConfigError
from ..store.context import StoreContext
from ..store.keys import contact_of_offer
from ..store.rules_store import RulesStore, checksum
from .routing_file import parse_rules, read_rules_text

log = structlog.get_logger("ccaas.rules")
FILE_SOURCE = "file"
POLL_SECONDS = 2.0  # a replica that missed a pub/sub message catches up this fast


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
        log.info("rules_switched", tenant=ctx.keys.tenant, version=rules.version, before=before)


async def publish_text(
    ctx: StoreContext, text: str, source: str, note: str = "", *, dedupe: bool = False
) -> CompiledRules:
    """Validate `text`, store it as the next version, put it in force here and everywhere.

    ConfigError (with each problem's line) when it is not valid, or when it removes a queue
    that still holds waiting or ringing contacts (they would be stranded): nothing changes.
    """
    candidate = parse_rules(text, source)
    await _refuse_stranding(ctx, candidate, source)
    activated = await RulesStore(ctx).activate(text, source, note, dedupe=dedupe)
    rules = await load_version(ctx, activated.version)
    swap(ctx, rules)
    return rules


async def _refuse_stranding(ctx: StoreContext, candidate: CompiledRules, source: str) -> None:
    removed = sorted(set(ctx.rules.config.queues) - set(candidate.config.queues))
    if not removed:
        return
    redis, keys = ctx.redis, ctx.keys
    async with redis.pipeline(transaction=False) as pipe:
        for queue in removed:
            pipe.zcard(keys.queue_waiting(queue))
        pipe.zrange(keys.offer_deadlines, 0, -1)
        *counts, ringing = await pipe.execute()
    held = dict(zip(removed, counts, strict=True))
    if ringing:
        async with redis.pipeline(transaction=False) as pipe:
            for offer in ringing:
                pipe.hget(keys.contact(contact_of_offer(offer)), "queue")
            for queue in await pipe.execute():
                if queue in held:
                    held[queue] += 1
    problems = [
        {
            "line": None,
            "field": f"queues.{queue}",
            "message": f"queue {queue!r} is removed but {n} contact(s) still wait in it; "
            "keep it until it is empty (take it out of the profiles and rules meanwhile)",
        }
        for queue, n in held.items()
        if n
    ]
    if problems:
        raise ConfigError(
            "\n".join(f"{source}: {p['message']}" for p in problems), problems=problems
        )


async def bootstrap(ctx: StoreContext, path: Path | None) -> None:
    """At start: put a changed rules file in force, then run on the version in force.

    The file is published when it differs from the last version that came from it, so a
    version made through the admin API survives restarts until the file is edited. A bad
    file is logged and ignored while Redis holds a good version; with none it is fatal.
    """
    store = RulesStore(ctx)
    if path is not None:
        text = read_rules_text(path)
        last = await store.last_from(FILE_SOURCE)
        if last is None or last["checksum"] != checksum(text):
            try:
                await publish_text(ctx, text, FILE_SOURCE, str(path), dedupe=True)
            except ConfigError as exc:
                if not await store.active_version():
                    raise
                log.error("rules_file_rejected", tenant=ctx.keys.tenant, errors=exc.detail)
    version = await store.active_version()
    if version:
        swap(ctx, await load_version(ctx, version))


async def follow(ctx: StoreContext) -> None:
    """Switch to each new version as it is announced (or found by polling)."""
    store = RulesStore(ctx)
    pubsub = ctx.redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(ctx.keys.rules_channel)
        while True:
            version = await store.active_version()
            if version and version != ctx.holder.current.version:
                try:
                    swap(ctx, await load_version(ctx, version))
                except ConfigError as exc:
                    log.error(
                        "rules_version_unusable",
                        tenant=ctx.keys.tenant,
                        version=version,
                        errors=exc.detail,
                    )
            await pubsub.get_message(timeout=POLL_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()


def _absolute(path: str | Path) -> str:
    # abspath, not resolve: an editor may be replacing the file (watched via its folder)
    return os.path.abspath(path)


async def watch_file(ctx: StoreContext, path: Path) -> None:
    """Publish the rules file each time it is saved with valid, different content."""
    target = _absolute(path)
    async for changes in awatch(os.path.dirname(target), debounce=200, recursive=False):
        if not any(_absolute(changed) == target for _, changed in changes):
            continue
        try:
            text = read_rules_text(path)
            last = await RulesStore(ctx).last_from(FILE_SOURCE)
            if last is not None and last["checksum"] == checksum(text):
                continue
            rules = await publish_text(ctx, text, FILE_SOURCE, str(path), dedupe=True)
            log.info("rules_file_loaded", tenant=ctx.keys.tenant, version=rules.version)
        except ConfigError as exc:
            log.error("rules_file_rejected", tenant=ctx.keys.tenant, errors=exc.detail)


async def supervise(name: str, duty: object) -> None:
    """Run a duty forever: log a failure and start it again after a short pause."""
    assert callable(duty)
    while True:
        try:
            await duty()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("rules_duty_failed", duty=name)
            await asyncio.sleep(1.0)
