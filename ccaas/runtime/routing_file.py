"""Reads routing YAML and turns every problem into a sentence with its file and line number."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..domain.rules.compiled import CompiledRules, RulesInvalid, rules_from_document
from ..domain.rules.schema import RoutingConfig
from ..errors import ConfigError


class RulesLoader(yaml.SafeLoader):
    """YAML with only true/false as booleans (as in YAML 1.2): a queue named `no` stays a name."""


RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RulesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its nearest parent that exists)."""
    node, line = root, root.start_mark.line + 1 if root is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                return line
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode):
            if isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:  # a name in a list, e.g. a profile's queues: [billing, genral]
                node = next((n for n in node.value if getattr(n, "value", None) == part), None)
                if node is None:
                    return line
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(root: yaml.Node | None) -> list[dict[str, Any]]:
    """Keys written twice in one mapping (YAML would quietly keep only the last).

    Walks without recursion and visits each node once: aliases may make the graph cyclic.
    """
    found: list[dict[str, Any]] = []
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.value in first_line:
                    found.append(
                        {
                            "line": line,
                            "field": None,
                            "message": f"key {key.value!r} appears twice (lines "
                            f"{first_line[key.value]} and {line}): keep one",
                        }
                    )
                first_line.setdefault(key.value, line)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(found, key=lambda problem: problem["line"])


def _refused(source: str, problems: list[dict[str, Any]]) -> ConfigError:
    """One ConfigError for `problems` ({line, field, message}), a line of text for each."""
    lines = []
    for p in problems:
        where = f"{source}:{p['line']}" if p["line"] else source
        lines.append(
            f"{where}: {p['field']}: {p['message']}" if p["field"] else f"{where}: {p['message']}"
        )
    return ConfigError("\n".join(lines), file=source, problems=problems)


def _problem(message: str, line: int | None = None, field: str | None = None) -> dict[str, Any]:
    return {"line": line, "field": field, "message": message}


def parse_rules(text: str, source: str, version: int = 0) -> CompiledRules:
    """Validate and compile routing YAML; a ConfigError lists each problem with its line.

    The error's `problems` field holds {line, field, message} for each, for the admin API.
    """
    try:
        root = yaml.compose(text, Loader=RulesLoader)
        document = yaml.load(text, Loader=RulesLoader)
    except RecursionError as exc:
        message = "not usable YAML: it nests too deeply or refers to itself"
        raise _refused(source, [_problem(message)]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise _refused(source, [_problem(f"not valid YAML: {exc.problem}", line)]) from exc
    duplicates = _duplicate_keys(root)
    if duplicates:
        raise _refused(source, duplicates)
    if not isinstance(document, dict):
        message = "the document must be a mapping of keys (queues:, classification:, ...)"
        raise _refused(source, [_problem(message, 1)])
    try:
        return rules_from_document(document, version)
    except RecursionError as exc:
        raise _refused(source, [_problem("not usable: the document refers to itself")]) from exc
    except RulesInvalid as exc:
        found = [
            _problem(
                problem.message,
                _line_of(root, problem.loc),
                ".".join(str(p) for p in problem.loc) or "(document)",
            )
            for problem in exc.problems
        ]
        raise _refused(source, found) from exc


def parse_routing(text: str, source: str) -> RoutingConfig:
    return parse_rules(text, source).config


def read_rules_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read routing file {path}: {exc.strerror}", file=str(path)
        ) from exc


def load_rules_file(path: Path, version: int = 0) -> CompiledRules:
    return parse_rules(read_rules_text(path), str(path), version)
