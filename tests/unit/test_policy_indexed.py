"""The indexed plan_offers plans exactly what the straightforward planner plans."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.models import AgentView, Membership, QueueSpec, Strategy, WaitingContact
from ccaas.domain.policy import PlanStats, plan_offers
from tests.unit.builders import NOW, QUEUES, RULES, SECOND, SKILL_NAMES, snapshots
from tests.unit.reference_policy import reference_plan_offers

Snapshot = tuple[list[WaitingContact], dict[str, AgentView]]


@st.composite
def queue_specs(draw: st.DrawFn) -> dict[str, QueueSpec]:
    """TEST_CONFIG's queues, each with a drawn strategy and reject cooldown."""
    return {
        name: dataclasses.replace(
            spec,
            strategy=draw(st.sampled_from(list(Strategy))),
            reject_cooldown_seconds=draw(st.sampled_from([0, 20, 60])),
        )
        for name, spec in QUEUES.items()
    }


@st.composite
def agents_with_profiles(draw: st.DrawFn, a: AgentView) -> AgentView:
    """An agent given backup priorities, queue delays and a cap across channels."""
    memberships = {
        queue: Membership(
            priority=draw(st.integers(1, 2)),
            delay_ms=draw(st.sampled_from([0, 0, 10 * SECOND, 30 * SECOND])),
        )
        for queue in sorted(a.queues)
        if draw(st.booleans())
    }
    return dataclasses.replace(
        a, memberships=memberships, max_total=draw(st.sampled_from([0, 0, 2, 3]))
    )


@st.composite
def contacts_with_history(
    draw: st.DrawFn, c: WaitingContact, agent_ids: list[str]
) -> WaitingContact:
    """A contact with time in its queue, maybe a hold, recent rejects and relaxed skills."""
    anyone = st.sampled_from([*agent_ids, "nobody"])
    rejected = draw(
        st.dictionaries(anyone, st.integers(0, 90).map(lambda s: NOW - s * SECOND), max_size=3)
    )
    held = draw(st.booleans())
    skills = dict(c.skills)
    if draw(st.booleans()):  # relaxed: a level lowered, a skill dropped or added
        skill = draw(st.sampled_from(SKILL_NAMES))
        level = draw(st.integers(0, 3))
        if level:
            skills[skill] = level
        else:
            skills.pop(skill, None)
    return dataclasses.replace(
        c,
        skills=skills,
        queue_since_ms=NOW - draw(st.integers(0, 40)) * SECOND,
        preferred_agent=draw(anyone) if held else "",
        preferred_until_ms=NOW + draw(st.integers(-1, 1)) * SECOND if held else 0,
        rejected_by=rejected,
    )


@st.composite
def rich_snapshots(draw: st.DrawFn) -> Snapshot:
    contacts, agents = draw(snapshots())
    agents = {aid: draw(agents_with_profiles(a)) for aid, a in agents.items()}
    # Copies of a few contacts make groups of several contacts with one signature.
    contacts += [
        dataclasses.replace(c, id=f"{c.id}-{n}", score=c.score + n)
        for n, c in enumerate(draw(st.lists(st.sampled_from(contacts), max_size=8)))
    ]
    ids = sorted(agents)
    return [draw(contacts_with_history(c, ids)) for c in contacts], agents


@settings(max_examples=250, deadline=None)
@given(rich_snapshots(), queue_specs())
def test_the_indexed_planner_makes_the_same_offers_in_the_same_order(
    snapshot: Snapshot, queues: dict[str, QueueSpec]
) -> None:
    contacts, agents = snapshot
    expected = reference_plan_offers(contacts, agents, queues, RULES, NOW)
    stats = PlanStats()
    assert plan_offers(contacts, agents, queues, RULES, NOW, stats) == expected
    assert stats.offers == len(expected)
