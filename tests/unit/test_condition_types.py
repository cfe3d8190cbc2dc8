"""A condition must give true or false where one is needed: a string, a number or a list
there is refused when the document loads, with the line and the field."""

from __future__ import annotations

import pytest

from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ConfigError

DOCUMENT = """\
queues:
  billing: {{channels: [voice, chat]}}
classification:
  - name: picky
    when: {when}
    queue: billing
    preferred_agent: {{agent: {agent}, hold_seconds: 5}}
  - name: default
    queue: billing
"""


def document(when: str, agent: str = "customer.last_agent") -> str:
    return DOCUMENT.format(when=when, agent=agent)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("customer.tier", "gives a string, not true or false"),
        ("contact.priority + 1", "gives an int, not true or false"),
        ("customer.lifetime_value", "gives a double, not true or false"),
        ("contact.tags", "gives a list, not true or false"),
        ("size(contact.tags)", "gives an int, not true or false"),
        ("'customer.tier && contact.repeat'", "'customer.tier' is a string, not true or false"),
        ("'!customer.name'", "'customer.name' is a string, not true or false"),
        ("'now.hour > 18 ? true : customer.name'", "gives a string, not true or false"),
        ("'contact.skills[\"billing\"]'", "gives an int, not true or false"),
    ],
)
def test_a_condition_that_is_not_boolean_is_refused_with_its_line(when: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_rules(document(when), "routing.yaml")
    [problem] = refused.value.fields["problems"]
    assert (problem["line"], problem["field"]) == (5, "classification.0.when")
    assert message in problem["message"]
    assert f"routing.yaml:5: classification.0.when: condition {when.strip(chr(39))!r}" in str(
        refused.value.detail
    )


BOOLEAN_OR_NOT_YET_KNOWN = [
    "contact.repeat",
    "queues.billing.open",
    'customer.tier == "gold"',
    "contact.attributes.vip",  # a free-form value: only known when the contact arrives
    "customer.extras.vulnerable",
    "dyn(customer.tier)",
    'contact.tags.exists(t, t == "vip")',
    "'!open(\"billing\")'",
    "'now.hour > 18 ? contact.repeat : false'",
]


def test_only_the_conditions_that_are_not_boolean_are_refused() -> None:
    rules = "".join(
        f"  - name: r{i}\n    queue: billing\n    when: {when}\n"
        for i, when in enumerate(BOOLEAN_OR_NOT_YET_KNOWN)
    )
    text = document("customer.tier").replace("classification:\n", "classification:\n" + rules)
    with pytest.raises(ConfigError) as refused:
        parse_rules(text, "routing.yaml")
    [problem] = refused.value.fields["problems"]
    assert problem["field"] == f"classification.{len(BOOLEAN_OR_NOT_YET_KNOWN)}.when"


def test_a_preferred_agent_must_give_an_agent_id() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_rules(document("contact.repeat", agent="contact.repeat"), "routing.yaml")
    [problem] = refused.value.fields["problems"]
    assert (problem["line"], problem["field"]) == (7, "classification.0.preferred_agent.agent")
    assert "gives a bool, not an agent id (a string)" in problem["message"]
