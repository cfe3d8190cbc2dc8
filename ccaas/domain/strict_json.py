"""Strict JSON reading: what every client parses alike, or a refusal naming where it is not.

Python's json module accepts what other parsers read differently or not at all: NaN and
Infinity, numbers that overflow to infinity (1e400), integers no JavaScript client can hold
exactly, and an object naming the same key twice (the last one silently wins). Each is
refused here with the path of the value, as pydantic names a field ("attributes.amount").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

# the largest integer a JSON client that reads numbers as doubles (JavaScript) holds exactly
MAX_SAFE_INTEGER = 2**53 - 1
_MAX_DIGITS = len(str(MAX_SAFE_INTEGER))


@dataclass(frozen=True, slots=True)
class Unsafe:
    """A value the parser met that is refused, kept in place so that its path can be found."""

    message: str


class _Duplicated(dict[str, Any]):
    """An object that named a key more than once (the keys in `twice`)."""

    twice: tuple[str, ...] = ()


class UnsafeJson(ValueError):
    """JSON that parses but holds values refused; `errors` lists each {field, message}."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _integer(text: str) -> int | Unsafe:
    digits = text.lstrip("-")
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_SAFE_INTEGER:
        return Unsafe(f"integer {text[:40]} is outside ±(2^53 - 1): send it as a string")
    return int(text)


def _number(text: str) -> float | Unsafe:
    value = float(text)
    return value if math.isfinite(value) else Unsafe(f"number {text[:40]} is not finite")


def _constant(name: str) -> Unsafe:
    return Unsafe(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    twice: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            twice[key] = None
        seen.add(key)
    duplicated = _Duplicated(found)
    duplicated.twice = tuple(twice)
    return duplicated


def _problems(value: Any, path: str, found: list[dict[str, str]]) -> None:
    if isinstance(value, Unsafe):
        found.append({"field": path or "(body)", "message": value.message})
    elif isinstance(value, dict):
        for key in getattr(value, "twice", ()):
            found.append({"field": _join(path, key), "message": "key given more than once"})
        for key, item in value.items():
            _problems(item, _join(path, key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _problems(item, _join(path, str(index)), found)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def loads_strict(text: str) -> Any:
    """`text` parsed as JSON: json.JSONDecodeError if it is not JSON, UnsafeJson if it holds
    a non-finite number, an integer beyond ±(2^53 - 1) or a key given twice."""
    value = json.loads(
        text,
        parse_int=_integer,
        parse_float=_number,
        parse_constant=_constant,
        object_pairs_hook=_object,
    )
    found: list[dict[str, str]] = []
    _problems(value, "", found)
    if found:
        raise UnsafeJson(found)
    return value
