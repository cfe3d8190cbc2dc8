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
from .rules_file import FILE_SOURCE, RulesFile, Save, check_save, note_rejected, write_back

log = structlog.get_logger("ccaas.rules")
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


async def publish_file(
    ctx: StoreContext, text: str, path: Path | RulesFile
) -> CompiledRules | None:
    """Publish the rules file's text and remember it was accepted (even if already in force).

    ConfigError when it is not valid, or was edited from an older version than the one in
    force (rules_file.check_save); None when it is an unchanged copy of an older version."""
    file = RulesFile.of(path)
    parse_rules(text, str(file.path))  # its own errors first, then whether it is stale
    if await check_save(ctx, text, file.path) is Save.OLD_COPY:
        file.known = checksum(text)  # nothing new: the rules in force may be written over it
        return None
    rules = await publish_text(ctx, text, FILE_SOURCE, str(file.path), dedupe=True)
    await RulesStore(ctx).note_file(text)
    file.known = checksum(text)
    return rules


async def _refused_save(
    ctx: StoreContext, file: RulesFile, text: str | None, exc: ConfigError
) -> None:
    log.error("rules_file_rejected", file=str(file.path), errors=exc.detail)
    await note_rejected(ctx, file.path, text, exc)


async def join(ctx: StoreContext) -> None:
    """Make `ctx` follow the rules in force (for a process that does not run `serve`)."""
    ctx.holder.refresh = lambda: refresh(ctx)
    await bootstrap(ctx, None)


async def bootstrap(ctx: StoreContext, path: Path | RulesFile | None) -> None:
    """At start: put a changed rules file in force, then run on the version in force.

    The file is published when it differs from the last version that came from it, so a
    version made through the admin API survives restarts until the file is edited. A bad
    (or stale) file is logged, kept as `last_rejected` and ignored while Redis holds a good
    version; with none it is fatal.
    """
    store = RulesStore(ctx)
    if path is not None:
        file = RulesFile.of(path)
        text = read_rules_text(file.path)
        if await store.file_checksum() != checksum(text):
            try:
                await publish_file(ctx, text, file)
            except ConfigError as exc:
                if not await store.active_version():
                    raise
                await _refused_save(ctx, file, text, exc)
        else:
            file.known = checksum(text)
    version = await store.active_version()
    if version:
        swap(ctx, await load_version(ctx, version))


async def set_up_again(ctx: StoreContext, path: Path | RulesFile | None) -> None:
    """Redis lost the tenant's data: publish the rules file again and run on it."""
    if path is not None:
        file = RulesFile.of(path)
        text = None
        try:
            text = read_rules_text(file.path)
            await publish_file(ctx, text, file)
        except ConfigError as exc:
            await _refused_save(ctx, file, text, exc)
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


async def follow(ctx: StoreContext, file: RulesFile | None = None) -> None:
    """Switch to each new version as it is announced (or found by polling); with a watched
    `file`, write each version this process runs back to it (rules_file.write_back)."""
    store = RulesStore(ctx)
    pubsub = ctx.redis.pubsub(ignore_subscribe_messages=True)
    shown = 0  # the version last written back (or found already there)
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
            running = ctx.holder.current.version
            if file is not None and running and running == version and running != shown:
                shown = running
                await write_back(ctx, file, running)
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


async def watch_file(ctx: StoreContext, path: Path | RulesFile) -> None:
    """Publish the rules file each time it is saved with valid, different content."""
    file = RulesFile.of(path)
    loop, saves = asyncio.get_running_loop(), asyncio.Queue[None]()
    stop = _watch_in_thread(file.path, lambda: loop.call_soon_threadsafe(saves.put_nowait, None))
    try:
        while True:
            await saves.get()
            await _publish_saved(ctx, file)
    finally:
        stop.set()


async def _publish_saved(ctx: StoreContext, file: RulesFile) -> None:
    text = None
    try:
        text = read_rules_text(file.path)
        if await RulesStore(ctx).file_checksum() == checksum(text):
            file.known = checksum(text)
            return
        rules = await publish_file(ctx, text, file)
        if rules is not None:
            log.info("rules_file_loaded", file=str(file.path), version=rules.version)
    except ConfigError as exc:
        await _refused_save(ctx, file, text, exc)
