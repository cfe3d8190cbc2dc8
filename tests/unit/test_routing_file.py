"""Routing YAML errors name the file, the field, the line, and a likely fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccaas.domain.rules.text import parse_routing
from ccaas.errors import ConfigError

GOOD = """\
aging_seconds_per_priority: 10
queues:
  billing:
    channels: [voice, chat]
    strategy: longest-idle
  email:
    channels: [email]
"""


def test_a_valid_document_loads() -> None:
    config = parse_routing(GOOD, "routing.yaml")
    assert set(config.queues) == {"billing", "email"}


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (GOOD.replace("longest-idle", "longest_idle"),
         ["routing.yaml:5:", "queues.billing.strategy", "did you mean 'longest-idle'?"]),
        (GOOD + "    offer_timout_seconds: 30\n",
         ["routing.yaml:8:", "offer_timout_seconds", "did you mean 'offer_timeout_seconds'?"]),
        (GOOD.replace("[voice, chat]", "[voice, fax]"),
         ["routing.yaml:4:", "queues.billing.channels.1"]),
        (GOOD.replace("aging_seconds_per_priority: 10", "aging_seconds_per_priority: -1"),
         ["routing.yaml:1:", "aging_seconds_per_priority", "greater than or equal to 0"]),
        (GOOD.replace("queues:", "queue:"),
         ["routing.yaml:2: queue:", "did you mean 'queues'?", "queues: Field required"]),
        (GOOD.replace("[voice, chat]", "[voice, chat"),
         ["routing.yaml:5:", "not valid YAML"]),
        (GOOD + "    reject_cooldown_seconds: -5\n",
         ["routing.yaml:8:", "queues.email.reject_cooldown_seconds", "greater than or equal to 0"]),
    ],
)  # fmt: skip
def test_a_broken_document_is_refused_with_its_line(broken: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_routing(broken, "routing.yaml")
    for fragment in expected:
        assert fragment in refused.value.detail


def test_the_shipped_example_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "routing.yaml"
    assert len(parse_routing(example.read_text(), str(example)).queues) == 8
