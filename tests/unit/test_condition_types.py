"""A condition must give true or false where one is needed: a string, a number or a list
there is refused when the document loads, with the line and the field."""

from __future__ import annotations

import functools
from typing import Any

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.rules.expression_types import result_type
from ccaas.domain.rules.facts import QueueStats, contact_vars, customer_vars, helpers, now_vars
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


# --- the type worked out is the type CEL gives ---------------------------------------------

LEAVES = {
    "bool": ["contact.repeat", "queue.open", "true", 'open("billing")', "queues.billing.open"],
    "int": ["contact.priority", "now.hour", "queue.eligible_agents", "3", "size(contact.tags)"],
    "double": ["customer.lifetime_value", "contact.waited_seconds", "1.5", "queue.ewt_seconds"],
    "string": ["customer.tier", "contact.channel", '"x"', "now.time", "contact.tags[0]"],
}
PYTHON = {"bool": bool, "int": int, "double": float, "string": str}


def typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    """CEL expressions of `kind` over the variables, nested up to `depth`."""
    leaf = st.sampled_from(LEAVES[kind])
    if depth == 0:
        return leaf

    def sub(of: str) -> st.SearchStrategy[str]:
        return typed(of, depth - 1)

    either = st.tuples(sub("bool"), sub(kind), sub(kind)).map(
        lambda t: f"({t[0]}) ? ({t[1]}) : ({t[2]})"
    )
    options = [leaf, either]
    if kind == "bool":
        same = st.sampled_from(sorted(LEAVES)).flatmap(lambda k: st.tuples(sub(k), sub(k)))
        ordered = st.sampled_from(["int", "double", "string"]).flatmap(
            lambda k: st.tuples(sub(k), sub(k))
        )
        options += [
            same.map(lambda t: f"({t[0]}) == ({t[1]})"),
            ordered.map(lambda t: f"({t[0]}) < ({t[1]})"),
            sub("bool").map(lambda b: f"!({b})"),
            st.tuples(sub("bool"), sub("bool")).map(lambda t: f"({t[0]}) && ({t[1]})"),
            st.tuples(sub("bool"), sub("bool")).map(lambda t: f"({t[0]}) || ({t[1]})"),
            sub("string").map(lambda s: f"contact.tags.exists(t, t == ({s}))"),
            sub("string").map(lambda s: f'({s}).startsWith("g")'),
        ]
    elif kind in ("int", "double"):
        options.append(st.tuples(sub(kind), sub(kind)).map(lambda t: f"({t[0]}) + ({t[1]})"))
        options.append(sub(kind).map(lambda x: f"-({x})"))
    else:
        options.append(st.tuples(sub(kind), sub(kind)).map(lambda t: f"({t[0]}) + ({t[1]})"))
    return st.one_of(options)


@functools.cache
def _variables() -> dict[str, Any]:
    rules = parse_rules(document("contact.repeat"), "routing.yaml")
    queue = {**QueueStats("billing", waiting=2, ewt_seconds=30.0).as_vars(), "eligible_agents": 1}
    contact = contact_vars(
        channel="chat",
        queue="billing",
        skills={"billing": 3},
        priority=5,
        tags=["gold"],
        attributes={},
        external_id="w1",
        rule="picky",
        waited_seconds=12.5,
    )
    return {
        "contact": contact,
        "customer": customer_vars({"tier": "gold", "lifetime_value": 120}),
        "now": now_vars(1_795_428_000_000, rules),
        "queue": queue,
        "queues": {"billing": queue},
        **helpers(rules, 1_795_428_000_000),
    }


@given(st.sampled_from(sorted(LEAVES)).flatmap(lambda k: st.tuples(st.just(k), typed(k, 2))))
@settings(max_examples=100, deadline=None)
def test_the_type_worked_out_is_the_type_cel_gives(case: tuple[str, str]) -> None:
    kind, source = case
    assert result_type(source).name == kind
    value = cel.compile(source).execute(_variables())
    assert type(value) is PYTHON[kind], (source, value)
