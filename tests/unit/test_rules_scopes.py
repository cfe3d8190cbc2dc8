"""Each place a condition is written sees its own variables, and only those."""

from __future__ import annotations

import pytest

from ccaas.domain.rules.conditions import Scope, compile_condition
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ConfigError

BASE = """
queues:
  billing:
    channels: [chat]
    relaxation:
      - {name: widen, when: queue.waiting > 3, drop: [billing]}
priority_rules:
  - {name: busy, when: WHEN, add: 5}
"""


def test_every_scope_is_its_own_member() -> None:
    assert len({scope.name for scope in Scope}) == len(Scope) == 4
    assert Scope.PRIORITY is not Scope.CLASSIFICATION


def test_a_priority_rule_cannot_read_the_relaxation_only_queue_variable() -> None:
    parse_rules(BASE.replace("WHEN", 'contact.channel == "chat"'), "r.yaml")  # loads
    with pytest.raises(ConfigError) as refused:
        parse_rules(BASE.replace("WHEN", "queue.waiting > 3"), "r.yaml")
    assert "r.yaml:8: priority_rules.0.when:" in refused.value.detail
    assert "unknown name 'queue'" in refused.value.detail


@pytest.mark.parametrize("scope", list(Scope))
def test_a_scope_name_is_not_a_variable(scope: Scope) -> None:
    with pytest.raises(ValueError, match="unknown name"):
        compile_condition(f"{scope.name.lower()} == 1", scope)
