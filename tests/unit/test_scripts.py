"""The scripts: one registry of every .lua file, and one reply shape decoded by scripts.Reply."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from redis.asyncio import Redis

from ccaas.store.scripts import SCRIPT_NAMES, Reply, Scripts, script_source

READ_ONLY = ("read_fields", "read_agents", "read_changes")  # return rows, not a transition reply


def test_every_lua_file_is_registered_once() -> None:
    files = {p.name for p in (resources.files("ccaas.store") / "lua").iterdir()}
    assert sorted(files - {"_lib.lua"}) == sorted(f"{name}.lua" for name in SCRIPT_NAMES)
    assert len(set(SCRIPT_NAMES)) == len(SCRIPT_NAMES)


async def test_register_gives_each_field_its_script() -> None:
    client = Redis()  # registering only hashes the text: no server is needed
    scripts = Scripts.register(client)
    await client.aclose()
    assert [getattr(scripts, name).script for name in SCRIPT_NAMES] == [
        script_source(name) for name in SCRIPT_NAMES
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(["ok"], Reply(True, None, ()), id="ok alone"),
        pytest.param(["ok", "c1.1", 3, 4], Reply(True, None, ("c1.1", 3, 4)), id="ok, values"),
        pytest.param(["refused", "no_capacity"], Reply(False, "no_capacity", ()), id="refused"),
        pytest.param(
            ["refused", "owned_by_other", "phone:+44"],
            Reply(False, "owned_by_other", ("phone:+44",)),
            id="refused, details",
        ),
    ],
)
def test_decode(raw: list[object], expected: Reply) -> None:
    assert Reply.decode(raw) == expected


@pytest.mark.parametrize("raw", [[], [1, "c1"], ["refused"], ["refused", 3], "ok", None])
def test_anything_else_is_an_error(raw: object) -> None:
    with pytest.raises(ValueError, match="neither ok nor refused"):
        Reply.decode(raw)


def test_batch_is_one_reply_per_item() -> None:
    raw = [["ok", "c1", 1], ["refused", "queue_full"], ["ok", "c2", 0]]
    assert [(r.ok, r.reason, r.values) for r in Reply.batch(raw)] == [
        (True, None, ("c1", 1)),
        (False, "queue_full", ()),
        (True, None, ("c2", 0)),
    ]


@pytest.mark.parametrize("name", [n for n in SCRIPT_NAMES if n not in READ_ONLY])
def test_every_table_a_transition_returns_is_ok_or_refused(name: str) -> None:
    own = (resources.files("ccaas.store") / "lua" / f"{name}.lua").read_text()  # not _lib's
    returned = re.findall(r"return (\{[^\n]*)", own)
    assert returned, f"{name}.lua returns no reply"
    assert [r for r in returned if not re.match(r"\{'(ok|refused)'", r)] == []
