"""Keeps every replica on the same rules: load at start, follow new versions, watch the file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from watchfiles import watch

from ..domain.rules.compiled import CompiledRules
from ..errors import ConfigError
from ..store.context import StoreContext
from ..store.rules_store import RulesStore, checksum
from ..store.stranded import StrandedCounter, stranded_channels
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
        log.info("rules_switched", version=rules.version, before=before)


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


async def publish_file(ctx: StoreContext, text: str, path: Path) -> CompiledRules:
    """Publish the rules file's text and remember it was accepted (even if already in force)."""
    rules = await publish_text(ctx, text, FILE_SOURCE, str(path), dedupe=True)
    await RulesStore(ctx).note_file(text)
    return rules


async def _baseline(ctx: StoreContext) -> CompiledRules:
    """The rules in force in Redis (this process may lag behind), else this process's own."""
    version = await RulesStore(ctx).active_version()
    if version and version != ctx.rules.version:
        with contextlib.suppress(ConfigError):
            return await load_version(ctx, version)
    return ctx.rules


async def _refuse_stranding(ctx: StoreContext, candidate: CompiledRules, source: str) -> None:
    """ConfigError when `candidate` would leave contacts where no router looks for them:
    in a queue it removes, or on a channel it takes away from their queue."""
    lost = stranded_channels(await _baseline(ctx), candidate)
    if not lost:
        return
    held = await StrandedCounter(ctx).count(lost)
    problems = []
    for (queue, channel), n in sorted(held.items()):
        if not n:
            continue
        if channel is None:
            message = (
                f"queue {queue!r} is removed but {n} contact(s) still wait in it; keep it "
                "until it is empty (take it out of the profiles and rules meanwhile)"
            )
        else:
            message = (
                f"queue {queue!r} would no longer take {channel} but {n} {channel} "
                "contact(s) still wait in it; keep the channel until they are answered"
            )
        problems.append({"line": None, "field": f"queues.{queue}", "message": message})
    if problems:
        raise ConfigError(
            "\n".join(f"{source}: {p['message']}" for p in problems), problems=problems
        )


async def join(ctx: StoreContext) -> None:
    """Make `ctx` follow the rules in force (for a process that does not run `serve`)."""
    ctx.holder.refresh = lambda: refresh(ctx)
    await bootstrap(ctx, None)


async def refresh(ctx: StoreContext) -> None:
    """Catch up with the version in force now (a script said this process is behind)."""
    version = await RulesStore(ctx).active_version()
    if version and version != ctx.rules.version:
        swap(ctx, await load_version(ctx, version))


async def bootstrap(ctx: StoreContext, path: Path | None) -> None:
    """At start: put a changed rules file in force, then run on the version in force.

    The file is published when it differs from the last version that came from it, so a
    version made through the admin API survives restarts until the file is edited. A bad
    file is logged and ignored while Redis holds a good version; with none it is fatal.
    """
    store = RulesStore(ctx)
    if path is not None:
        text = read_rules_text(path)
        if await store.file_checksum() != checksum(text):
            try:
                await publish_file(ctx, text, path)
            except ConfigError as exc:
                if not await store.active_version():
                    raise
                log.error("rules_file_rejected", errors=exc.detail)
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


def _watch_in_thread(path: Path, saved: Callable[[], object]) -> threading.Event:
    """Call `saved` (from a daemon thread) each time the file changes; set the event to stop.

    watchfiles blocks a thread while it waits; a daemon thread of our own can never hold
    the process open at exit, which anyio's worker threads (used by awatch) could.
    """
    target, stop = _absolute(path), threading.Event()

    def run() -> None:
        with contextlib.suppress(RuntimeError):  # the event loop closed: we are stopping
            for changes in watch(
                os.path.dirname(target), debounce=200, recursive=False, stop_event=stop
            ):
                if any(_absolute(changed) == target for _, changed in changes):
                    saved()

    threading.Thread(target=run, name="rules-file-watcher", daemon=True).start()
    return stop


async def watch_file(ctx: StoreContext, path: Path) -> None:
    """Publish the rules file each time it is saved with valid, different content."""
    loop, saves = asyncio.get_running_loop(), asyncio.Queue[None]()
    stop = _watch_in_thread(path, lambda: loop.call_soon_threadsafe(saves.put_nowait, None))
    try:
        while True:
            await saves.get()
            await _publish_saved(ctx, path)
    finally:
        stop.set()


async def _publish_saved(ctx: StoreContext, path: Path) -> None:
    try:
        text = read_rules_text(path)
        if await RulesStore(ctx).file_checksum() == checksum(text):
            return
        rules = await publish_file(ctx, text, path)
        log.info("rules_file_loaded", version=rules.version)
    except ConfigError as exc:
        log.error("rules_file_rejected", errors=exc.detail)
