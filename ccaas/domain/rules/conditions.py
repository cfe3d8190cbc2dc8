"""CEL conditions of the rules: compiled once, checked against the known fields, run safely."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import cel

from .expression_types import DYN, TIME_GETTERS, NotBoolean, result_type

CONTACT_FIELDS = frozenset(
    {
        "channel",
        "queue",
        "skills",
        "priority",
        "tags",
        "attributes",
        "external_id",
        "waited_seconds",
        "queue_seconds",
        "rule",
        "repeat",
    }
)
CUSTOMER_FIELDS = frozenset(
    {
        "id",
        "name",
        "tier",
        "language",
        "segment",
        "lifetime_value",
        "consent",
        "extras",
        "last_agent",
    }
)
QUEUE_FIELDS = frozenset(
    {
        "name",
        "waiting",
        "oldest_wait_seconds",
        "agents_logged_in",
        "agents_available",
        "eligible_agents",
        "ewt_seconds",
        "open",
    }
)
NOW_FIELDS = frozenset({"hour", "minute", "weekday", "date", "time", "epoch_seconds"})
# maps whose keys are free-form: their own keys are not checked
_OPEN_MAPS = {("contact", "attributes"), ("contact", "skills"), ("customer", "extras")}
_OPEN_MAPS |= {("customer", "consent")}
FIELDS: Mapping[str, frozenset[str]] = {
    "contact": CONTACT_FIELDS,
    "customer": CUSTOMER_FIELDS,
    "queue": QUEUE_FIELDS,
    "now": NOW_FIELDS,
}
HELPERS = frozenset({"open"})
# CEL's standard functions and macros that the installed runtime implements (checked by a
# test); the operators are named _x_, @x or !_ and pass anyway
_STANDARD = frozenset(
    (
        "has",
        "all",
        "exists",
        "exists_one",
        "map",
        "filter",
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "dyn",
        "type",
        "duration",
        "timestamp",
        *TIME_GETTERS,
        "optional",
        "orValue",
        "value",
        "hasValue",
    )
)


class Scope(Enum):
    """Where a condition is written; it decides which variables exist (its `value`).

    Each member's value starts with its own name, so two scopes that see the same
    variables stay two members instead of one being an alias of the other.
    """

    CLASSIFICATION = ("classification", "contact", "customer", "now", "queues")
    PRIORITY = ("priority", "contact", "customer", "now", "queues")
    RELAXATION = ("relaxation", "contact", "customer", "now", "queue", "queues")
    PREFERRED_AGENT = ("preferred_agent", "contact", "customer", "now")

    @property
    def variables(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.value[1:]
        return names


class ConditionError(ValueError):
    """The expression does not compile or names something unknown; the message says which."""


_STRING = re.compile(r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*\"""", re.S)
_TOKEN = re.compile(
    r"""(?P<str>[bB]?[rR]'''.*?'''|[bB]?[rR]\"\"\".*?\"\"\"|[bB]?[rR]'[^'\n]*'|[bB]?[rR]"[^"\n]*"
    |[bB]?'''(?:\\.|.)*?'''|[bB]?\"\"\"(?:\\.|.)*?\"\"\"
    |[bB]?'(?:\\.|[^'\\\n])*'|[bB]?"(?:\\.|[^"\\\n])*")
    |(?P<id>[A-Za-z_]\w*)|(?P<num>\d[\w.]*)|(?P<space>\s+)|(?P<op>.)""",
    re.S | re.X,
)
_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_CEL_ERROR = re.compile(r"<input>:(\d+):(\d+): (.*)")
_OPEN_CALL = re.compile(r"""\bopen\s*\(\s*(?:'([^']*)'|"([^"]*)")\s*\)""")


def _close(word: str, choices: object) -> str:
    found = difflib.get_close_matches(word, sorted(choices), n=1)  # type: ignore[call-overload]
    return f"; did you mean {found[0]!r}?" if found else ""


def _tokens(source: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: 'str' (its value), 'id', or 'op' (one character)."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "op"
        text = match.group()
        if kind == "str":
            body = text.lstrip("bBrR")
            quote = 3 if body[:3] in ('"""', "'''") else 1
            text = body[quote:-quote]
        if kind != "space":
            tokens.append((kind, text))
    return tokens


def _paths(source: str) -> list[tuple[str, list[str]]]:
    """Each variable path as (root, [field, ...]): contact.channel, queues["a-b"].waiting.

    A trailing method name (contact.tags.exists(...)) is not a field.
    """
    tokens = _tokens(source)
    paths = []
    for i, (kind, text) in enumerate(tokens):
        if kind != "id" or (i and tokens[i - 1] == ("op", ".")):
            continue
        parts, j = [], i + 1
        while j < len(tokens):
            if tokens[j] == ("op", ".") and j + 1 < len(tokens) and tokens[j + 1][0] == "id":
                if j + 2 < len(tokens) and tokens[j + 2] == ("op", "("):
                    break  # a method call
                parts.append(tokens[j + 1][1])
                j += 2
            elif (
                tokens[j] == ("op", "[")
                and j + 2 < len(tokens)
                and tokens[j + 1][0] == "str"
                and tokens[j + 2] == ("op", "]")
            ):
                parts.append(tokens[j + 1][1])
                j += 3
            else:
                break
        paths.append((text, parts))
    return paths


def _check_paths(source: str, scope: Scope, queue_names: frozenset[str]) -> None:
    for single, double in _OPEN_CALL.findall(source):
        name = single or double
        if name not in queue_names:
            raise ConditionError(f"open({name!r}): no such queue{_close(name, queue_names)}")
    bound = set(_BOUND.findall(_STRING.sub('""', source)))
    for root, parts in _paths(source):
        if root in bound or not parts:
            continue
        if root == "queues":
            if parts[0] not in queue_names:
                raise ConditionError(
                    f"unknown queue 'queues.{parts[0]}'{_close(parts[0], queue_names)}"
                )
            shared = QUEUE_FIELDS - {"eligible_agents"}  # per contact: only on its own queue
            if len(parts) > 1 and parts[1] not in shared:
                hint = _close(parts[1], shared)
                raise ConditionError(f"unknown field 'queues.{parts[0]}.{parts[1]}'{hint}")
            continue
        known = FIELDS.get(root)
        if known is None or root not in scope.variables:
            continue  # a root outside the scope is reported from the compiled variables
        if parts[0] not in known:
            raise ConditionError(f"unknown field '{root}.{parts[0]}'{_close(parts[0], known)}")
        if len(parts) > 1 and (root, parts[0]) not in _OPEN_MAPS:
            raise ConditionError(f"'{root}.{parts[0]}' has no field '{parts[1]}'")


def _compile(source: str) -> cel.Program:
    try:
        return cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as exc:
        lines = str(exc).splitlines()
        match = next((m for m in map(_CEL_ERROR.search, lines) if m), None)
        if match:
            raise ConditionError(
                f"does not compile at column {match.group(2)}: {match.group(3)}"
            ) from exc
        raise ConditionError(f"does not compile: {lines[0] if lines else exc}") from exc


@dataclass(frozen=True, eq=False)
class CompiledCondition:
    """A checked CEL program and the source it came from."""

    source: str
    program: cel.Program
    roots: frozenset[str]
    field: str = ""  # where it is written, e.g. classification.0.when (named in run-time warnings)

    def value(self, variables: Mapping[str, Any], helpers: Mapping[str, Callable[..., Any]]) -> Any:
        """The expression's value; raises EvaluationError when it cannot be computed."""
        try:
            return self.program.execute({**variables, **helpers})
        except KeyError as exc:
            raise MissingValue(f"{self.source!r}: no value for {exc}", self.field) from exc
        except (TypeError, ValueError, RuntimeError) as exc:
            message = f"{self.source!r}: {type(exc).__name__}: {exc}"
            raise EvaluationError(message, self.field) from exc

    def holds(
        self, variables: Mapping[str, Any], helpers: Mapping[str, Callable[..., Any]]
    ) -> bool:
        result = self.value(variables, helpers)
        if not isinstance(result, bool):
            message = f"{self.source!r} gave {result!r}, not true or false"
            raise EvaluationError(message, self.field)
        return result


# (where the condition is written, what went wrong): one condition that failed at run time
ConditionWarning = tuple[str, str]


class EvaluationError(RuntimeError):
    """A condition failed at run time (e.g. a type mismatch); callers treat it as false.

    `field` is where the condition is written (classification.0.when), for the log.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class MissingValue(EvaluationError):
    """The condition read a key the contact does not have (an absent attribute): false, quietly."""


def _check_result(source: str, scope: Scope) -> None:
    """ConditionError unless the expression can give what its place needs: true or false for
    a `when`, an agent id (a string) for a preferred agent. Types not known before run time
    (values of free-form maps, dyn()) pass: they are checked when the condition runs."""
    try:
        found = result_type(source)
    except NotBoolean as exc:
        raise ConditionError(str(exc)) from exc
    if scope is Scope.PREFERRED_AGENT:
        if found.name not in (DYN, "string"):
            raise ConditionError(f"gives {found.reads_as()}, not an agent id (a string)")
    elif found.name not in (DYN, "bool"):
        raise ConditionError(str(NotBoolean(source.strip(), found, whole=True)))


def compile_condition(
    source: str, scope: Scope, queue_names: frozenset[str] = frozenset(), field: str = ""
) -> CompiledCondition:
    """Compile and check `source` (written at `field`); ConditionError says what is wrong
    in an admin's words."""
    program = _compile(source)
    bound = set(_BOUND.findall(_STRING.sub('""', source)))
    for name in program.variables():
        if name not in scope.variables and name not in bound:
            hint = ""
            if name in FIELDS or name == "queues":
                hint = f"; {name}.* is not known here"
            raise ConditionError(f"unknown name {name!r}{hint or _close(name, scope.variables)}")
    for name in program.functions():
        if name[0] in "_@!" or name in _STANDARD or name in HELPERS:
            continue
        raise ConditionError(f"unknown function {name!r}{_close(name, _STANDARD | HELPERS)}")
    _check_paths(source, scope, queue_names)
    _check_result(source, scope)
    roots = frozenset(program.variables()) & set(scope.variables)
    return CompiledCondition(source, program, roots, field)
