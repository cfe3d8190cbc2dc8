"""Who may be offered what: eligibility reasons and per-channel capacity (default rules)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.eligibility import Ineligible, has_room, ineligibility, is_eligible
from ccaas.domain.models import Channel, ChannelRule, Presence
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.store.scripts import script_source
from tests.unit.builders import RULES, agent, contact

VOICE, CHAT, EMAIL, SOCIAL = Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SOCIAL


def test_default_channel_rules() -> None:
    assert dict(RULES) == {
        VOICE: ChannelRule(capacity=1, exclusive=True),
        CHAT: ChannelRule(capacity=3),
        EMAIL: ChannelRule(capacity=2),
        SOCIAL: ChannelRule(capacity=3),
    }


@pytest.mark.parametrize(
    ("agent_kw", "contact_kw", "expected"),
    [
        pytest.param({}, {}, None, id="available, in queue, no skills needed, idle"),
        pytest.param({"presence": Presence.AWAY}, {}, Ineligible.NOT_AVAILABLE, id="away"),
        pytest.param({"presence": Presence.OFFLINE}, {}, Ineligible.NOT_AVAILABLE, id="offline"),
        pytest.param({"presence": Presence.WRAP_UP}, {}, Ineligible.NOT_AVAILABLE, id="in wrap-up"),
        pytest.param(
            {"queues": ("sales",)}, {}, Ineligible.NOT_IN_QUEUE, id="serves another queue"
        ),
        pytest.param({"queues": ()}, {}, Ineligible.NOT_IN_QUEUE, id="serves no queue"),
        pytest.param({}, {"skills": {"fr": 1}}, Ineligible.MISSING_SKILL, id="skill missing"),
        pytest.param(
            {"skills": {"fr": 4}},
            {"skills": {"fr": 5}},
            Ineligible.MISSING_SKILL,
            id="level too low",
        ),
        pytest.param({"skills": {"fr": 5}}, {"skills": {"fr": 5}}, None, id="level exactly enough"),
        pytest.param(
            {"skills": {"fr": 10, "en": 2}},
            {"skills": {"fr": 5, "en": 3}},
            Ineligible.MISSING_SKILL,
            id="one of two skills too low",
        ),
        pytest.param(
            {"skills": {"fr": 10, "en": 3, "tech": 1}},
            {"skills": {"fr": 5, "en": 3}},
            None,
            id="all required skills met, extras ignored",
        ),
        pytest.param({"work": {"chat": 3}}, {}, Ineligible.NO_CAPACITY, id="chat slots full"),
        pytest.param({"work": {"voice": 1}}, {}, Ineligible.NO_CAPACITY, id="on a call"),
        pytest.param({"capacity": {"chat": 0}}, {}, Ineligible.NO_CAPACITY, id="takes no chat"),
        # When several reasons apply, the first in the documented order is reported.
        pytest.param(
            {"presence": Presence.AWAY, "queues": (), "work": {"chat": 3}},
            {"skills": {"fr": 1}},
            Ineligible.NOT_AVAILABLE,
            id="away beats every other reason",
        ),
        pytest.param(
            {"queues": ("sales",), "work": {"chat": 3}},
            {"skills": {"fr": 1}},
            Ineligible.NOT_IN_QUEUE,
            id="queue before skill and capacity",
        ),
        pytest.param(
            {"work": {"chat": 3}},
            {"skills": {"fr": 1}},
            Ineligible.MISSING_SKILL,
            id="skill before capacity",
        ),
    ],
)
def test_ineligibility_reason(
    agent_kw: dict[str, object], contact_kw: dict[str, object], expected: Ineligible | None
) -> None:
    a = agent(**agent_kw)
    c = contact(queue="billing", channel=CHAT, **contact_kw)
    assert ineligibility(a, c, RULES) == expected
    assert is_eligible(a, c, RULES) is (expected is None)


def test_reasons_are_the_words_the_claim_script_returns() -> None:
    claim = script_source("claim")
    # queue membership is decided by the router under a rules version the claim checks
    checked_in_lua = [r for r in Ineligible if r is not Ineligible.NOT_IN_QUEUE]
    assert [r.value for r in checked_in_lua if f"'{r.value}'" not in claim] == []


@pytest.mark.parametrize(
    ("work", "capacity", "channel", "room"),
    [
        # voice: exclusive, capacity 1
        pytest.param({}, {}, VOICE, True, id="idle agent can take a call"),
        pytest.param({"voice": 1}, {}, VOICE, False, id="a second call"),
        pytest.param({"chat": 1}, {}, VOICE, False, id="call needs no chat held"),
        pytest.param({"email": 1}, {}, VOICE, False, id="call needs no email held"),
        pytest.param({"social": 1}, {}, VOICE, False, id="call needs no social held"),
        pytest.param({"voice": 1}, {}, CHAT, False, id="call blocks chat"),
        pytest.param({"voice": 1}, {}, EMAIL, False, id="call blocks email"),
        pytest.param({"voice": 1}, {}, SOCIAL, False, id="call blocks social"),
        pytest.param({"voice": 1}, {"voice": 2}, VOICE, False, id="exclusive even with capacity 2"),
        pytest.param({"voice": 0, "chat": 0}, {}, VOICE, True, id="zero counts are no work"),
        pytest.param({"voice": 0}, {}, CHAT, True, id="zero calls block nothing"),
        # chat: up to 3
        pytest.param({"chat": 2}, {}, CHAT, True, id="third chat"),
        pytest.param({"chat": 3}, {}, CHAT, False, id="fourth chat"),
        # email: up to 2
        pytest.param({"email": 1}, {}, EMAIL, True, id="second email"),
        pytest.param({"email": 2}, {}, EMAIL, False, id="third email"),
        # social: up to 3
        pytest.param({"social": 2}, {}, SOCIAL, True, id="third social"),
        pytest.param({"social": 3}, {}, SOCIAL, False, id="fourth social"),
        # non-exclusive channels count independently of each other
        pytest.param({"chat": 3}, {}, EMAIL, True, id="full chat leaves email free"),
        pytest.param(
            {"chat": 3, "email": 2, "social": 2}, {}, SOCIAL, True, id="mixed load, social free"
        ),
        pytest.param({"chat": 3, "email": 2}, {}, CHAT, False, id="mixed load, chat full"),
        # per-agent overrides
        pytest.param({"chat": 4}, {"chat": 5}, CHAT, True, id="override raises chat to 5"),
        pytest.param({"chat": 5}, {"chat": 5}, CHAT, False, id="override 5 reached"),
        pytest.param({"chat": 1}, {"chat": 1}, CHAT, False, id="override lowers chat to 1"),
        pytest.param({"email": 1}, {"email": 1}, EMAIL, False, id="override lowers email"),
        pytest.param({}, {"chat": 0}, CHAT, False, id="capacity 0: takes no chat"),
        pytest.param({}, {"voice": 0}, VOICE, False, id="capacity 0: takes no calls"),
        pytest.param({}, {"chat": 0}, EMAIL, True, id="capacity 0 chat leaves email"),
        pytest.param({"chat": 4}, {}, CHAT, False, id="over capacity (lowered mid-shift)"),
    ],
)
def test_has_room_with_default_rules(
    work: Mapping[str, int], capacity: Mapping[str, int], channel: Channel, room: bool
) -> None:
    assert has_room(agent(work=work, capacity=capacity), channel, RULES) is room


def test_capacity_override_keyed_by_channel_enum_works_too() -> None:
    a = agent(capacity={Channel.CHAT: 0})
    assert has_room(a, CHAT, RULES) is False


def test_configured_rules_replace_defaults_per_channel() -> None:
    rules = RoutingConfig.model_validate(
        {
            "channels": {"chat": {"capacity": 1, "exclusive": True}, "email": {"capacity": 5}},
            "queues": {"q": {"channels": ["chat"]}},
        }
    ).channel_rules()
    assert rules[VOICE] == ChannelRule(1, exclusive=True)  # untouched default
    assert has_room(agent(work={"email": 4}), EMAIL, rules) is True
    assert has_room(agent(work={"email": 1}), CHAT, rules) is False  # chat now exclusive
    assert has_room(agent(work={"chat": 1}), EMAIL, rules) is False  # and blocks email


work_maps = st.dictionaries(
    st.sampled_from([ch.value for ch in Channel]), st.integers(min_value=0, max_value=4)
)
capacity_maps = st.dictionaries(
    st.sampled_from([ch.value for ch in Channel]), st.integers(min_value=0, max_value=5)
)


@settings(max_examples=300, deadline=None)
@given(work=work_maps, capacity=capacity_maps, channel=st.sampled_from(list(Channel)))
def test_has_room_matches_the_plain_rules(
    work: dict[str, int], capacity: dict[str, int], channel: Channel
) -> None:
    """Spelled-out default rules: a call needs an empty desk; a held call blocks everything;
    otherwise each channel has its own limit (the agent's override, else the default)."""
    limit = capacity.get(channel.value, {"voice": 1, "chat": 3, "email": 2, "social": 3}[channel])
    on_call = work.get("voice", 0) > 0
    if channel is VOICE:
        expected = not any(work.values()) and limit > 0
    else:
        expected = not on_call and work.get(channel.value, 0) < limit
    assert has_room(agent(work=work, capacity=capacity), channel, RULES) is expected
