"""Routing rules from YAML text; every problem becomes a sentence with its source and line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.constructor import DuplicateKeyError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from ...errors import ConfigError
from .compiled import CompiledRules, RulesInvalid, rules_from_document
from .schema import RoutingConfig

# Far deeper than the schema goes: a deeper document is refused before anything recurses into it.
MAX_DEPTH = 100
# Values that aliases may add to a document: a few lines of nested aliases can stand for
# billions of values ("billion laughs"), which the schema checks would then walk one by one.
MAX_ALIAS_VALUES = 100_000


class _Yaml12(VersionedResolver):
    """YAML 1.2 even under a `%YAML 1.1` line: only true/false are booleans (a queue `no`)."""

    @property
    def processing_version(self) -> tuple[int, int]:
        return (1, 2)


class _RepeatedKey(Exception):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


class _Constructor(SafeConstructor):
    """ruamel.yaml's safe constructor, which refuses a repeated key; this says where both are."""

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        try:
            return bool(super().check_mapping_key(node, key_node, mapping, key, value))
        except DuplicateKeyError:
            first = next(
                k for k, _ in node.value if k is key_node or self.construct_object(k) == key
            )
            name = key_node.value if isinstance(key_node, ScalarNode) else key
            line = key_node.start_mark.line + 1
            raise _RepeatedKey(str(name), first.start_mark.line + 1, line) from None


def _yaml() -> YAML:
    """A loader for one document (a YAML object keeps state: one per parse)."""
    yaml = YAML(typ="safe", pure=True)  # the C parser would read some scalars as YAML 1.1
    yaml.Resolver = _Yaml12
    yaml.Constructor = _Constructor
    yaml.max_depth = MAX_DEPTH
    yaml.composer.warn_double_anchors = False  # YAML allows an anchor to be defined again
    return yaml


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _alias_values(root: Node) -> int:
    """How many values the aliases add when expanded (each alias counts its whole subtree).

    Visits each node once, without recursion; an alias to its own ancestor (a loop) adds 0.
    """
    size: dict[Node, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            size[node] = 1 + sum(size.get(child, 0) for child in _children(node))
        elif node not in size:
            size[node] = 0  # entered: a child that refers back here finds 0
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return size[root] - len(size)


def _line_of(root: Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its nearest parent that exists)."""
    node, line = root, root.start_mark.line + 1 if root is not None else None
    for part in loc:
        if isinstance(node, MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                return line
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, SequenceNode):
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


def line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """1-based line of the key at `loc` in the YAML `text`, or of its nearest parent that
    exists (a removed queue: the `queues:` line); None if the text is not YAML."""
    try:
        return _line_of(_yaml().compose(text), loc)
    except (YAMLError, RecursionError):
        return None


def refused(source: str, problems: list[dict[str, Any]]) -> ConfigError:
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


def _read_yaml(text: str, source: str) -> tuple[Node | None, Any]:
    """The document's node tree (for line numbers) and its plain values (dict, list, str...)."""
    yaml = _yaml()
    try:
        root = yaml.compose(text)
        if root is not None and _alias_values(root) > MAX_ALIAS_VALUES:
            message = f"not usable YAML: its aliases stand for over {MAX_ALIAS_VALUES:,} values"
            raise refused(source, [_problem(message)])
        return root, yaml.constructor.construct_document(root) if root is not None else None
    except (RecursionError, MaxDepthExceededError) as exc:
        message = "not usable YAML: it nests too deeply or refers to itself"
        raise refused(source, [_problem(message)]) from exc
    except _RepeatedKey as exc:
        message = f"key {exc.key!r} appears twice (lines {exc.first} and {exc.second}): keep one"
        raise refused(source, [_problem(message, exc.second)]) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise refused(source, [_problem(f"not valid YAML: {exc.problem}", line)]) from exc
    except ReaderError as exc:  # a character YAML does not allow, e.g. a NUL
        line = text.count("\n", 0, exc.position) + 1
        message = f"not valid YAML: {str(exc).splitlines()[0]}"
        raise refused(source, [_problem(message, line)]) from exc
    except YAMLError as exc:
        raise refused(source, [_problem(f"not valid YAML: {exc}")]) from exc


def parse_rules(text: str, source: str, version: int = 0) -> CompiledRules:
    """Validate and compile routing YAML; a ConfigError lists each problem with its line.

    The error's `problems` field holds {line, field, message} for each, for the admin API.
    """
    root, document = _read_yaml(text, source)
    if not isinstance(document, dict):
        message = "the document must be a mapping of keys (queues:, classification:, ...)"
        raise refused(source, [_problem(message, 1)])
    try:
        return rules_from_document(document, version)
    except RecursionError as exc:
        raise refused(source, [_problem("not usable: the document refers to itself")]) from exc
    except RulesInvalid as exc:
        found = [
            _problem(
                problem.message,
                _line_of(root, problem.loc),
                ".".join(str(p) for p in problem.loc) or "(document)",
            )
            for problem in exc.problems
        ]
        raise refused(source, found) from exc


def parse_routing(text: str, source: str) -> RoutingConfig:
    return parse_rules(text, source).config
