"""The console's commands: the types a frame is told it may have are exactly those parsed."""

from __future__ import annotations

import typing

from ccaas.web.agent_commands import COMMAND_TYPES, Command


def test_the_named_command_types_are_those_the_parser_takes() -> None:
    union = typing.get_args(typing.get_args(Command)[0])
    parsed = {typing.get_args(model.model_fields["type"].annotation)[0] for model in union}
    assert set(COMMAND_TYPES) == parsed
