"""'Did you mean' hints for schema errors of the routing document: misspelt keys and choices."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from .schema import RoutingConfig


def _known_keys(loc: Sequence[int | str]) -> list[str]:
    """Field names allowed at the mapping that holds loc[-1], found through the model types."""
    kind: Any = RoutingConfig
    for part in loc[:-1]:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            kind = field.annotation if field else None
        else:
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            kind = args[-1] if args else None
        if typing.get_origin(kind) is typing.Union or str(kind).startswith("typing.Optional"):
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            kind = args[0] if args else None
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def suggestion(error: ErrorDetails) -> str:
    """'; did you mean ...?' for a misspelt key or choice, when one is close."""
    if error["type"] == "string_type" and not isinstance(error.get("input"), (dict, list)):
        return "; YAML read it as another type: write it in quotes"
    if error["type"] == "extra_forbidden":
        choices = _known_keys(error["loc"])
        typed = str(error["loc"][-1])
    else:
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        typed = str(error.get("input"))
    close = difflib.get_close_matches(typed, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
