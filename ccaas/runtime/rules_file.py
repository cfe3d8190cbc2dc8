"""The watched routing file: written back with the rules in force, and saves checked against
the version they were edited from."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any

import structlog

from ..domain.rules.file_header import split_header, with_header
from ..errors import ConfigError
from ..store.context import StoreContext
from ..store.rules_store import RulesStore, checksum

log = structlog.get_logger("ccaas.rules")
FILE_SOURCE = "file"


class RulesFile:
    """The routing file of this process, and the checksum of the text it last accepted from
    the file or wrote to it: any other text there is an edit not yet handled, never
    overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: str | None = None

    @classmethod
    def of(cls, file: Path | RulesFile) -> RulesFile:
        return file if isinstance(file, RulesFile) else cls(file)


class Save(Enum):
    """What a save of the file is, against the versions stored."""

    PUBLISH = "publish"  # an edit of the version in force (or of the file's own last one)
    OLD_COPY = "old-copy"  # the unchanged text of an older version: nothing to publish


def _replace(path: Path, text: str) -> None:
    """Atomic replace: a temp file in the same folder, fsync, rename; keeps the file's mode."""
    mode = os.stat(path).st_mode & 0o7777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(
        OSError
    ):  # the rename itself survives a crash once the folder is synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


async def write_back(ctx: StoreContext, file: RulesFile, version: int) -> None:
    """Make the file show `version` (with its header line) when its text differs.

    An edit not yet handled (or one that was refused) is left alone. A version that came
    from a file save and equals the file's text is not written again (an editor would
    otherwise see its file change after each save)."""
    store = RulesStore(ctx)
    text = await store.text(version)
    if text is None:
        return
    try:
        current = await asyncio.to_thread(file.path.read_text)
    except OSError as exc:
        log.warning("rules_file_unreadable", file=str(file.path), error=exc.strerror)
        return
    base, body = split_header(current)
    info = next((v for v in await store.versions() if v["version"] == version), {})
    if body == text and (base == version or info.get("source") == FILE_SOURCE):
        file.known = checksum(current)
        return
    if file.known is not None and checksum(current) != file.known:
        log.warning(
            "rules_file_not_written",
            file=str(file.path),
            version=version,
            reason="the file holds an edit not accepted (yet): it is left as it is",
        )
        return
    new = with_header(version, text)
    try:
        await asyncio.to_thread(_replace, file.path, new)
    except OSError as exc:
        log.error("rules_file_not_written", file=str(file.path), version=version, error=str(exc))
        return
    file.known = checksum(new)
    await store.note_file(new)
    log.info("rules_file_written", file=str(file.path), version=version)


async def check_save(ctx: StoreContext, text: str, path: Path) -> Save:
    """Whether a save of the file may be published; ConfigError when it was edited from an
    older version than the one in force and a version made through the API or a rollback
    came in between (publishing it would silently undo that version).

    The base is the header line's version; without one, the last version from a file."""
    store = RulesStore(ctx)
    active = await store.active_version()
    base, body = split_header(text)
    versions = {v["version"]: v for v in await store.versions()}
    if not active or active not in versions or versions[active]["checksum"] == checksum(body):
        return Save.PUBLISH
    if base is None:
        base = max((n for n, v in versions.items() if v["source"] == FILE_SOURCE), default=0)
    elif base in versions and versions[base]["checksum"] == checksum(body):
        return Save.OLD_COPY
    between = [
        v for n, v in sorted(versions.items()) if base < n <= active and v["source"] != FILE_SOURCE
    ]
    if not between:
        return Save.PUBLISH
    newest = between[-1]
    since = f"version {newest['version']} ({newest['source']}) came after it"
    if newest["version"] == active:
        since = f"version {active} ({newest['source']}) is in force since"
    else:
        since += f" and version {active} is in force"
    message = (
        f"this file was edited from rules version {base}, but {since}: saving it would undo "
        f"that change. Make the edit on the rules in force (GET /v1/admin/rules/versions/"
        f"{active}), keep the first line '# ccaas rules version {active}', and save again"
    )
    log.warning("rules_file_stale", file=str(path), version_in_force=active, based_on=base)
    raise ConfigError(
        f"{path}:1: {message}",
        file=str(path),
        problems=[{"line": 1, "field": None, "message": message}],
        version_in_force=active,
        based_on=base,
    )


async def note_rejected(ctx: StoreContext, path: Path, text: str | None, exc: ConfigError) -> None:
    """Keep a refused save as `last_rejected` (shown by GET /v1/admin/rules on every replica)."""
    store = RulesStore(ctx)
    errors: Any = exc.fields.get("problems") or [
        {"line": None, "field": None, "message": exc.detail}
    ]
    await store.reject_file(
        {
            "at": ctx.clock.now_ms(),
            "source": FILE_SOURCE,
            "file": str(path),
            "errors": errors,
            "version_in_force": await store.active_version(),
            "based_on": exc.fields.get("based_on", split_header(text)[0] if text else None),
            "yaml": text,
        }
    )
