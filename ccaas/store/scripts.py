"""Loads the transition scripts from ccaas/store/lua once and registers them with a client.

Every transition script answers in one shape: {"ok", values...} when it committed, or
{"refused", reason, details...} when it changed nothing; a batch script (claim, enqueue)
answers with a list of those, one per item. `Reply` decodes that shape, here only. The reading
scripts (read_fields, read_agents, read_changes) return plain rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


@dataclass(frozen=True, slots=True)
class Reply:
    """A transition script's answer: ok with its values, or refused with a reason and details."""

    ok: bool
    reason: str | None  # the refusal's word; None when ok
    values: tuple[Any, ...]  # what follows "ok", or what follows the reason

    @classmethod
    def decode(cls, raw: Any) -> Reply:
        # indexing, not a match statement: this runs once per offer and per new contact
        head = raw[0] if isinstance(raw, list) and raw else None
        if head == "ok":
            return cls(True, None, tuple(raw[1:]))
        if head == "refused" and len(raw) > 1 and isinstance(raw[1], str):
            return cls(False, raw[1], tuple(raw[2:]))
        raise ValueError(f"a script answered {raw!r}, neither ok nor refused")

    @classmethod
    def batch(cls, raw: Any) -> list[Reply]:
        """The answers of a batch script, one per item in the order given."""
        return [cls.decode(item) for item in raw]


async def execute_scripts(redis: Redis, fill: Callable[[Pipeline], Awaitable[None]]) -> list[Any]:
    """Run in one round trip the pipeline `fill` buffers (script calls among its commands).

    redis-py asks Redis whether each script is loaded before every such pipeline, a round
    trip of its own; this skips the question, and when Redis answers NOSCRIPT (it lost its
    scripts: restarted or flushed, and ran none of the pipeline's scripts) loads them and
    runs the pipeline again. Its other commands must be safe to repeat.
    """
    for attempt in (1, 2):
        async with redis.pipeline(transaction=False) as pipe:
            await fill(pipe)
            scripts = list(pipe.scripts)
            pipe.scripts.clear()
            try:
                return list(await pipe.execute())
            except NoScriptError:
                if attempt == 2:
                    raise
            for script in scripts:
                script.sha = await redis.script_load(script.script)
    raise AssertionError("unreachable")


DEFAULT_EVENTS_MAX_LEN = 1_000_000  # the events_max_len setting's default


@cache
def script_source(name: str, events_max_len: int = DEFAULT_EVENTS_MAX_LEN) -> str:
    """The script's text with the shared helpers (_lib.lua) in front of it, and in front of
    those the event stream's length limit the helpers' `emit` trims to."""
    lua = resources.files("ccaas.store") / "lua"
    header = f"local EVENTS_MAX_LEN = '{int(events_max_len)}'\n"  # text: see claim.lua
    return header + (lua / "_lib.lua").read_text() + (lua / f"{name}.lua").read_text()


@dataclass(frozen=True)
class Scripts:
    """Every script, registered once: a field per ccaas/store/lua/<field name>.lua.

    The fields are the one list of script names (SCRIPT_NAMES is read from them), so a new
    script is one new field and its .lua file; attribute access stays typed.
    """

    enqueue: AsyncScript
    claim: AsyncScript
    accept: AsyncScript
    requeue_offer: AsyncScript
    complete: AsyncScript
    end_wrap_up: AsyncScript
    abandon: AsyncScript
    upsert_agent: AsyncScript
    set_presence: AsyncScript
    read_fields: AsyncScript
    read_agents: AsyncScript
    read_changes: AsyncScript
    relax: AsyncScript
    activate_rules: AsyncScript
    link_identities: AsyncScript
    update_customer: AsyncScript
    merge_customers: AsyncScript
    erase_customer: AsyncScript
    attach_body: AsyncScript
    set_password: AsyncScript
    post_message: AsyncScript
    mark_delivery: AsyncScript
    request_callback: AsyncScript
    callback_outcome: AsyncScript
    release_callback: AsyncScript
    open_session: AsyncScript
    keep_sessions: AsyncScript
    end_session: AsyncScript
    count_attempts: AsyncScript
    transfer: AsyncScript
    set_next_presence: AsyncScript

    @classmethod
    def register(cls, redis: Redis, events_max_len: int = DEFAULT_EVENTS_MAX_LEN) -> Scripts:
        return cls(
            **{
                f.name: redis.register_script(script_source(f.name, events_max_len))
                for f in fields(cls)
            }
        )


SCRIPT_NAMES = tuple(f.name for f in fields(Scripts))
