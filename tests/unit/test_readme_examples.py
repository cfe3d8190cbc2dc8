"""The README's admin example shows what the rules check really answers for that edit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_validate_example_names_the_line_and_message_served() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r'# 422: errors\[0\] = \{"line": (\d+), "field": "([^"]+)"', readme)
    assert shown is not None, "the README's validate example is gone"
    edited = (ROOT / "config" / "routing.yaml").read_text()
    edited = edited.replace('customer.tier == "gold"', 'customer.teir == "gold"')
    with pytest.raises(ConfigError) as refused:
        parse_rules(edited, "body")
    first = refused.value.fields["problems"][0]
    assert (first["line"], first["field"]) == (int(shown[1]), shown[2])
    assert "did you mean 'tier'?" in first["message"]
