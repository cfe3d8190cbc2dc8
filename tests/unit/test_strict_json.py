"""Strict JSON reading: what every parser reads alike comes back as it was sent, and each
value parsers read differently is refused at its own path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccaas.domain.strict_json import MAX_SAFE_INTEGER, UnsafeJson, loads_strict

NAMES = st.text(alphabet="abcxyz_-", min_size=1, max_size=6)
SAFE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=20,
)
UNSAFE = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-2e308", "9007199254740992", "-9007199254740993"]
)


@given(SAFE)
def test_json_every_parser_reads_alike_comes_back_as_sent(value: Any) -> None:
    assert loads_strict(json.dumps(value)) == value


@given(st.lists(NAMES, min_size=1, max_size=4), UNSAFE, SAFE)
def test_an_unsafe_number_is_refused_at_its_path(
    path: list[str], literal: str, neighbour: Any
) -> None:
    text = literal
    for name in reversed(path):
        text = f'{{"other": {json.dumps(neighbour)}, {json.dumps(name)}: {text}}}'
    with pytest.raises(UnsafeJson) as refused:
        loads_strict(text)
    assert [e["field"] for e in refused.value.errors] == [".".join(path)]


@given(st.lists(NAMES, min_size=1, max_size=3), NAMES)
def test_a_key_given_twice_is_refused_at_its_path(path: list[str], key: str) -> None:
    text = f"{{{json.dumps(key)}: 1, {json.dumps(key)}: 2}}"
    for name in reversed(path):
        text = f"[{{{json.dumps(name)}: {text}}}]"
    with pytest.raises(UnsafeJson) as refused:
        loads_strict(text)
    expected = ".".join(f"0.{name}" for name in path) + f".{key}"
    assert [e["field"] for e in refused.value.errors] == [expected]
