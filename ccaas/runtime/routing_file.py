"""Reads the routing YAML and turns validation errors into sentences with their line numbers."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..domain.config import RoutingConfig
from ..errors import ConfigError


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its nearest parent that exists)."""
    node, line = root, root.start_mark.line + 1 if root is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, _ in node.value if k.value == str(part)), None)
            if match is None:
                return line
            line = (key or match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _known_keys(loc: Sequence[int | str]) -> list[str]:
    """Field names allowed at the mapping that holds loc[-1], found through the model types."""
    kind: Any = RoutingConfig
    for part in loc[:-1]:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            kind = field.annotation if field else None
        else:
            args = typing.get_args(kind)
            kind = args[-1] if args else None
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _suggestion(error: ErrorDetails) -> str:
    """'; did you mean ...?' for a misspelt key or choice, when one is close."""
    if error["type"] == "extra_forbidden":
        choices = _known_keys(error["loc"])
        typed = str(error["loc"][-1])
    else:
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        typed = str(error.get("input"))
    close = difflib.get_close_matches(typed, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def parse_routing(text: str, source: str) -> RoutingConfig:
    """Validate routing YAML; a ConfigError names the file, each bad field and its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}", file=source) from exc
    try:
        return RoutingConfig.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "(document)"
            line = _line_of(root, error["loc"])
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {field}: {error['msg']}{_suggestion(error)}")
        raise ConfigError("\n".join(problems), file=source) from exc


def load_routing_file(path: Path) -> RoutingConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read routing file {path}: {exc.strerror}", file=str(path)
        ) from exc
    return parse_routing(text, str(path))
