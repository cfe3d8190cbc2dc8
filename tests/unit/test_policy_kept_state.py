"""Planning on state kept between rounds plans exactly what a fresh plan_offers plans.

The router keeps its backlog and pools from round to round and applies only what changed:
agents and contacts that come, change and go, its own committed offers, and the refused
ones it puts back. After any such history the kept state must plan offer for offer what
planning afresh on the same snapshot plans.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.backlog import Backlog
from ccaas.domain.models import AgentView, Channel, QueueSpec, WaitingContact
from ccaas.domain.policy import PlannedOffer, PlanStats, plan_offers, plan_round
from ccaas.domain.pools import Pools
from tests.unit.builders import (
    NOW,
    QUEUES,
    RULES,
    SECOND,
    agent,
    agent_views,
    contact,
    waiting_contacts,
)
from tests.unit.test_policy_indexed import agents_with_profiles, contacts_with_history, queue_specs

AGENT_IDS = [f"a{n}" for n in range(6)]
CONTACT_IDS = [f"c{n}" for n in range(12)]


def _offers_applied(
    agents: dict[str, AgentView], contacts: dict[str, WaitingContact], offers: list, now: int
) -> None:
    for offer in offers:
        del contacts[offer.contact_id]
        agents[offer.agent_id] = agents[offer.agent_id].with_offer(offer.channel, offer.queue, now)


@settings(max_examples=200, deadline=None)
@given(queue_specs(), st.data())
def test_kept_state_plans_what_a_fresh_round_plans(
    queues: dict[str, QueueSpec], data: st.DataObject
) -> None:
    agents: dict[str, AgentView] = {}
    contacts: dict[str, WaitingContact] = {}
    backlog, pools = Backlog(), Pools(queues, RULES)
    now = NOW
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        step = data.draw(
            st.sampled_from(["agent", "drop_agent", "contact", "drop_contact"] * 2 + ["round"])
        )
        if step == "agent":
            aid = data.draw(st.sampled_from(AGENT_IDS))
            view = data.draw(agents_with_profiles(data.draw(agent_views(aid))))
            agents[aid] = view
            pools.put_agent(view)
        elif step == "drop_agent" and agents:
            aid = data.draw(st.sampled_from(sorted(agents)))
            del agents[aid]
            pools.drop_agent(aid)
        elif step == "contact":
            cid = data.draw(st.sampled_from(CONTACT_IDS))
            drawn = data.draw(waiting_contacts(cid))
            c = data.draw(contacts_with_history(drawn, AGENT_IDS))
            contacts[cid] = c
            backlog.put(c)
        elif step == "drop_contact" and contacts:
            cid = data.draw(st.sampled_from(sorted(contacts)))
            del contacts[cid]
            backlog.discard(cid)
        elif step == "round":
            now += data.draw(st.integers(0, 20)) * SECOND
            expected = plan_offers(list(contacts.values()), agents, queues, RULES, now)
            stats = PlanStats()
            assert plan_round(backlog, pools, now, stats) == expected
            # some commits are refused: the router puts back what Redis still holds
            refused = (
                data.draw(st.lists(st.sampled_from(expected), unique=True)) if expected else []
            )
            committed = [o for o in expected if o not in refused]
            _offers_applied(agents, contacts, committed, now)
            for offer in refused:
                backlog.put(contacts[offer.contact_id])
                pools.put_agent(agents[offer.agent_id])
            assert pools.agents == agents
            assert sorted(c.id for c in backlog) == sorted(contacts)
    final = plan_offers(list(contacts.values()), agents, queues, RULES, now)
    assert plan_round(backlog, pools, now) == final


def test_a_contact_changed_in_place_is_planned_by_its_new_group_only() -> None:
    """A relaxed contact (a skill dropped) moves group: its old entry is never offered."""
    backlog = Backlog()
    needs_french = contact("c1", skills={"french": 3}, waited_s=30)
    backlog.put(needs_french)
    backlog.put(contact("c2", waited_s=10))
    pools = Pools(QUEUES, RULES, [agent("a1", work={"chat": 2}, capacity={"chat": 3})])
    assert plan_round(backlog, pools, NOW) == [PlannedOffer("c2", "a1", "billing", Channel.CHAT)]
    backlog.put(dataclasses.replace(needs_french, skills={}))
    pools.put_agent(agent("a2", capacity={"chat": 1}))
    assert plan_round(backlog, pools, NOW) == [PlannedOffer("c1", "a2", "billing", Channel.CHAT)]
    assert len(backlog) == 0 and not backlog.groups
