"""Builders and hypothesis strategies for the pure domain tests (no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hypothesis import strategies as st

from ccaas.domain.models import AgentView, Channel, Presence, WaitingContact
from ccaas.domain.ordering import order_score
from ccaas.domain.policy import PlannedOffer
from tests.helpers import TEST_CONFIG

RULES = TEST_CONFIG.channel_rules()
QUEUES = TEST_CONFIG.queue_specs()
AGING = TEST_CONFIG.aging_seconds_per_priority
NOW = 1_700_000_000_000
SECOND = 1000


def agent(
    id: str = "a1",
    *,
    skills: Mapping[str, int] | None = None,
    queues: Sequence[str] = ("billing",),
    capacity: Mapping[str, int] | None = None,
    presence: Presence = Presence.AVAILABLE,
    idle_since_ms: int = NOW - 60 * SECOND,
    work: Mapping[str, int] | None = None,
    last_offer_ms: Mapping[str, int] | None = None,
) -> AgentView:
    return AgentView(
        id=id,
        skills=dict(skills or {}),
        queues=frozenset(queues),
        capacity=dict(capacity or {}),
        presence=presence,
        idle_since_ms=idle_since_ms,
        work=dict(work or {}),
        last_offer_ms=dict(last_offer_ms or {}),
    )


def contact(
    id: str = "c1",
    *,
    queue: str = "billing",
    channel: Channel = Channel.CHAT,
    skills: Mapping[str, int] | None = None,
    priority: int = 0,
    waited_s: float = 0,
    aging: float = AGING,
) -> WaitingContact:
    """A waiting contact that arrived `waited_s` seconds before NOW, scored as intake does."""
    first = NOW - int(waited_s * SECOND)
    return WaitingContact(
        id=id,
        queue=queue,
        channel=channel,
        skills=dict(skills or {}),
        priority=priority,
        first_enqueued_ms=first,
        score=order_score(priority, first, aging),
    )


def after_offer(a: AgentView, offer: PlannedOffer, now_ms: int = NOW) -> AgentView:
    """The agent once `offer` is made: one more contact held, busy since now, offered now."""
    work = dict(a.work)
    work[offer.channel.value] = work.get(offer.channel.value, 0) + 1
    last = dict(a.last_offer_ms)
    last[offer.queue] = now_ms
    return dataclasses.replace(a, work=work, idle_since_ms=now_ms, last_offer_ms=last)


# --- hypothesis: random snapshots over TEST_CONFIG ------------------------------------

SKILL_NAMES = ("en", "fr", "tech")
QUEUE_NAMES = tuple(sorted(QUEUES))
CHANNELS = tuple(Channel)

skill_maps = st.dictionaries(
    st.sampled_from(SKILL_NAMES), st.integers(min_value=1, max_value=10), max_size=3
)
presences = st.sampled_from(
    [Presence.AVAILABLE] * 6 + [Presence.AWAY, Presence.OFFLINE, Presence.WRAP_UP]
)


@st.composite
def agent_views(draw: st.DrawFn, id: str) -> AgentView:
    # Small, overlapping idle times so that ties on idle_since fall through to the agent id.
    return AgentView(
        id=id,
        skills=draw(skill_maps),
        queues=frozenset(
            draw(st.sets(st.sampled_from([*QUEUE_NAMES, "closed"]), min_size=1, max_size=3))
        ),
        capacity=draw(
            st.dictionaries(
                st.sampled_from([ch.value for ch in CHANNELS]),
                st.integers(min_value=0, max_value=4),
                max_size=2,
            )
        ),
        presence=draw(presences),
        idle_since_ms=NOW - draw(st.integers(min_value=0, max_value=5)) * SECOND,
        work=draw(
            st.dictionaries(
                st.sampled_from([ch.value for ch in CHANNELS]),
                st.integers(min_value=0, max_value=3),
                max_size=2,
            )
        ),
        last_offer_ms=draw(
            st.dictionaries(
                st.sampled_from(QUEUE_NAMES),
                st.integers(min_value=0, max_value=5).map(lambda s: NOW - s * SECOND),
                max_size=3,
            )
        ),
    )


@st.composite
def waiting_contacts(draw: st.DrawFn, id: str) -> WaitingContact:
    queue = draw(st.sampled_from(QUEUE_NAMES))
    channel = draw(st.sampled_from(sorted(QUEUES[queue].channels)))
    priority = draw(st.integers(min_value=-2, max_value=2))
    first = NOW - draw(st.integers(min_value=0, max_value=40)) * SECOND
    return WaitingContact(
        id=id,
        queue=queue,
        channel=channel,
        skills=draw(
            st.dictionaries(
                st.sampled_from(SKILL_NAMES), st.integers(min_value=1, max_value=5), max_size=2
            )
        ),
        priority=priority,
        first_enqueued_ms=first,
        score=order_score(priority, first, AGING),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[list[WaitingContact], dict[str, AgentView]]:
    """Random waiting contacts (in random input order) and agents on TEST_CONFIG."""
    # Ids drawn out of numeric order ("c10" < "c9") so the id tie-break is exercised.
    agent_ids = draw(st.lists(st.integers(0, 30), unique=True, min_size=1, max_size=6))
    contact_ids = draw(st.lists(st.integers(0, 99), unique=True, min_size=1, max_size=14))
    agents = {f"a{n}": draw(agent_views(f"a{n}")) for n in agent_ids}
    contacts = [draw(waiting_contacts(f"c{n}")) for n in contact_ids]
    return contacts, agents
