"""The codecs read what the scripts write, and what the API shows of it."""

from __future__ import annotations

from ccaas.domain.models import Channel, ContactState, Presence
from ccaas.domain.rules.compiled import compile_rules
from ccaas.store.records.agent import AgentRecord
from ccaas.store.records.contact import ContactRecord, encode_new
from ccaas.store.records.customer import CustomerRecord
from tests.helpers import TEST_CONFIG


def test_an_erased_contact_still_shows_its_json_fields_empty_and_hides_its_score() -> None:
    raw = {
        "id": "c1",
        "state": "completed",
        "channel": "chat",
        "score": "17.5",
        "priority": "20.0",
        "queue": "billing",
        "notes": "",
    }
    shown = ContactRecord.decode(raw).api()
    assert shown["attributes"] == {} and shown["customer"] is None and shown["tags"] == []
    assert shown["priority"] == 20 and "score" not in shown and "notes" not in shown
    assert (shown["state"], shown["channel"]) == ("completed", "chat")


def test_a_field_of_newer_code_passes_through_and_an_offer_is_read_from_its_contact() -> None:
    record = ContactRecord.decode(
        {
            "state": "offered",
            "offer_id": "c1.2",
            "agent_id": "ann",
            "offer_expires_at": "99",
            "future_field": "x",
        }
    )
    assert record.api()["future_field"] == "x"
    assert record.offer is not None and (record.offer.agent_id, record.offer.expires_at) == (
        "ann",
        99,
    )
    assert ContactRecord.decode({"state": "queued", "offer_id": ""}).offer is None


def test_a_new_contacts_fields_leave_empty_values_out() -> None:
    assert encode_new({"a": "", "b": None, "c": [], "d": {}, "e": 0, "f": ("x",)}) == (
        '{"e": 0, "f": "[\\"x\\"]"}'
    )
    assert ContactRecord.decode({"skills": '{"billing": 3}'}).skills == {"billing": 3}


def test_an_agent_reads_its_work_and_defaults_what_it_lacks() -> None:
    agent = AgentRecord.decode(
        {"id": "ann", "presence": "available", "idle_since": "5", "last_offer:billing": "7"},
        {"c2": "offered:chat", "c1": "connected:voice"},
    )
    assert agent.presence is Presence.AVAILABLE and agent.skills == {} and agent.missed == 0
    assert [(w.contact_id, w.state, w.channel) for w in agent.work] == [
        ("c1", ContactState.CONNECTED, Channel.VOICE),
        ("c2", ContactState.OFFERED, Channel.CHAT),
    ]
    view = agent.view(compile_rules(TEST_CONFIG))
    assert dict(view.work) == {"voice": 1, "chat": 1} and view.last_offer_ms == {"billing": 7}
    assert AgentRecord.decode({"profile": "x"}, {}).logged_in is False


def test_a_customer_shows_every_profile_field_and_its_identities_sorted() -> None:
    shown = CustomerRecord.decode(
        {"id": "u1", "created_at": "1", "updated_at": "2", "tier": "gold"},
        {"phone:+442079460001", "email:jo@x.com"},
    ).api()
    assert shown["tier"] == "gold" and shown["name"] is None and shown["lifetime_value"] is None
    assert shown["identities"] == [
        {"kind": "email", "value": "jo@x.com"},
        {"kind": "phone", "value": "+442079460001"},
    ]
    assert CustomerRecord.encode_changes({"tier": None, "consent": {"sms": True}}) == {
        "tier": False,
        "consent": '{"sms": true}',
    }
