"""The first line the engine writes into the routing file: the version the file shows.

A save is then known to be an edit of that version; a save based on an older version than
the one in force (the file was edited while the API changed the rules) can be refused.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"# ccaas rules version ([0-9]{1,18})\b[^\n]*(?:\n|$)")


def split_header(text: str) -> tuple[int | None, str]:
    """(the version named by the header line, or None; the text without that line)."""
    match = _HEADER.match(text)
    if match is None:
        return None, text
    return int(match.group(1)), text[match.end() :]


def with_header(version: int, body: str) -> str:
    """`body` (without a header) as the engine writes it to the file for `version`."""
    return (
        f"# ccaas rules version {version} (written by ccaas: keep this line, a save is "
        "checked against it)\n" + body
    )
