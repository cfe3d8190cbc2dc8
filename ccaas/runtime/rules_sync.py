"""Keeps every replica on the same rules: load at start, follow new versions, watch the file."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from watchfiles import watch

from ..domain.rules.compiled import CompiledRules
from ..domain.rules.text import parse_rules
from ..errors import ConfigError
from ..store.client import next_message
from ..store.context import StoreContext
from ..store.rules_store import RulesStore, checksum, load_version, publish_text, refresh, swap

log = structlog.get_logger("ccaas.rules")
FILE_SOURCE = "file"
POLL_SECONDS = 2.0  # a replica that missed a pub/sub message catches up this fast


def read_rules_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read routing file {path}: {exc.strerror}", file=str(path)
        ) from exc


def load_rules_file(path: Path, version: int = 0) -> CompiledRules:
    return parse_rules(read_rules_text(path), str(path), version)


async def publish_file(ctx: StoreContext, text: str, path: Path) -> CompiledRules:
    """Publish the rules file's text and remember it was accepted (even if already in force)."""
    rules = await publish_text(ctx, text, FILE_SOURCE, str(path), dedupe=True)
    await RulesStore(ctx).note_file(text)
    return rules


async def join(ctx: StoreContext) -> None:
    """Make `ctx` follow the rules in force (for a process that does not run `serve`)."""
    ctx.holder.refresh = lambda: refresh(ctx)
    await bootstrap(ctx, None)


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


async def set_up_again(ctx: StoreContext, path: Path | None) -> None:
    """Redis lost the tenant's data: publish the rules file again and run on it."""
    if path is not None:
        try:
            await publish_file(ctx, read_rules_text(path), path)
        except ConfigError as exc:
            log.error("rules_file_rejected", errors=exc.detail)
    await adopt(ctx)


async def adopt(ctx: StoreContext) -> None:
    """Run on the version in force in Redis even when it is older than this process's (Redis
    was reset, so its numbers started again); with none, on this process's rules as the
    built-in version 0, which is what Redis then expects."""
    version = await RulesStore(ctx).active_version()
    rules = (
        await load_version(ctx, version) if version else dataclasses.replace(ctx.rules, version=0)
    )
    before, ctx.holder.current = ctx.holder.current.version, rules
    log.warning("rules_reset", version=rules.version, before=before)


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
            await next_message(pubsub, POLL_SECONDS)
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
