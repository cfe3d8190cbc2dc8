"""The rules at work on a real Redis with a manual clock: classification, relaxation, reload.

No sleeps: the clock is moved by hand and the router's rounds are run one at a time.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from ccaas.desk.service import Desk
from ccaas.domain.clock import ManualClock
from ccaas.domain.models import Channel, Presence
from ccaas.domain.rules.text import parse_rules
from ccaas.errors import ConfigError, ContactRejected
from ccaas.router.service import Router
from ccaas.runtime.rules_sync import bootstrap
from ccaas.store.contacts import ContactRepository
from ccaas.store.context import StoreContext
from ccaas.store.explain import ExplainRepository
from ccaas.store.rules_store import RulesStore, publish_text
from tests.helpers import MONDAY_10AM, RULES, add_agent, arrive, offered_to


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


@pytest.fixture
def rules_ctx(redis: Redis, clock: ManualClock) -> StoreContext:
    return StoreContext.create(redis, "t1", parse_rules(RULES, "routing.yaml"), clock)


async def test_classification_picks_the_first_matching_rule(rules_ctx: StoreContext) -> None:
    contacts = ContactRepository(rules_ctx)
    es = await arrive(rules_ctx, "e1", attributes={"language": "es"})
    plain = await arrive(rules_ctx, "e2", customer={"tier": "gold"})
    buy = await arrive(rules_ctx, "e3", attributes={"intent": "buy"})
    assert (await contacts.get(es))["rule"] == "spanish-billing"
    assert (await contacts.get(es))["skills"] == {"billing": 7, "spanish": 5}
    gold = await contacts.get(plain)
    assert (gold["rule"], gold["queue"], gold["priority"]) == ("default", "billing", 20)
    assert (await contacts.get(buy))["queue"] == "sales"


async def test_closed_queue_overflows_and_full_queue_overflows(
    rules_ctx: StoreContext, clock: ManualClock
) -> None:
    contacts = ContactRepository(rules_ctx)
    clock.advance(12 * 3600)  # 22:00: sales is closed
    late = await contacts.get(await arrive(rules_ctx, "late", attributes={"intent": "buy"}))
    assert (late["queue"], late["overflowed"]) == ("billing", [["sales", "closed"]])
    first = await arrive(rules_ctx, "cb1", channel=Channel.VOICE, queue="callbacks")
    second = await arrive(rules_ctx, "cb2", channel=Channel.VOICE, queue="callbacks")
    assert (await contacts.get(first))["queue"] == "callbacks"
    assert (await contacts.get(second))["queue"] == "billing"  # callbacks holds 1


async def test_closed_queue_without_overflow_is_rejected_and_leaves_nothing(
    redis: Redis, clock: ManualClock
) -> None:
    closed_only = RULES.replace("    overflow: {closed: billing}\n", "")
    ctx = StoreContext.create(redis, "t1", parse_rules(closed_only, "r.yaml"), clock)
    clock.advance(12 * 3600)
    with pytest.raises(ContactRejected) as rejected:
        await arrive(ctx, "late", attributes={"intent": "buy"})
    assert rejected.value.fields["reason"] == "closed"
    assert await redis.keys("*") == []


async def test_a_time_triggered_step_lets_a_less_skilled_agent_take_the_contact(
    rules_ctx: StoreContext, clock: ManualClock
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "junior", {"billing": 4})
    contact_id = await arrive(rules_ctx, "x1")  # default rule: billing 7
    assert await offered_to(router) == {}
    clock.advance(59)
    await router.timers_once()
    assert await offered_to(router) == {}
    clock.advance(1)
    await router.timers_once()  # the step 'widen' is due: billing 7 -> 3
    assert await offered_to(router) == {contact_id: "junior"}


async def test_a_condition_triggered_step_fires_when_no_eligible_agent_is_logged_in(
    rules_ctx: StoreContext,
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "english", {"billing": 8, "english": 9})
    contact_id = await arrive(rules_ctx, "es1", attributes={"language": "es"})
    assert await offered_to(router) == {}
    assert await router.timers_once() == 1  # nobody logged in speaks spanish: drop it
    explained = await ExplainRepository(rules_ctx).explain(contact_id)
    assert explained["requirements"] == {"billing": 7}
    assert await offered_to(router) == {contact_id: "english"}


async def test_a_condition_step_waits_while_an_eligible_agent_is_logged_in(
    rules_ctx: StoreContext,
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "bilingual", {"billing": 8, "spanish": 6})
    await Desk(rules_ctx).set_presence("bilingual", Presence.AWAY, "lunch")
    await arrive(rules_ctx, "es1", attributes={"language": "es"})
    await router.timers_once()
    assert await offered_to(router) == {}  # away, yet logged in: the requirement stays


async def test_explain_lists_both_steps_and_the_candidates_of_the_last_attempt(
    rules_ctx: StoreContext, clock: ManualClock
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "english", {"billing": 2, "english": 9})
    await add_agent(rules_ctx, "seller", {"billing": 9}, profile="sales_team")
    await Desk(rules_ctx).set_presence("seller", Presence.AWAY, "break")
    contact_id = await arrive(rules_ctx, "es1", attributes={"language": "es"})
    await router.timers_once()  # any-language
    clock.advance(60)
    await router.timers_once()  # widen
    assert await offered_to(router) == {}  # english has billing 2 < 3; seller is away
    explained = await ExplainRepository(rules_ctx).explain(contact_id)
    assert explained["classification"]["rule"] == "spanish-billing"
    assert [s["step"] for s in explained["relaxation"]["applied"]] == [
        "queue:billing/any-language",
        "queue:billing/widen",
    ]
    assert explained["relaxation"]["applied"][0]["trigger"] == "when queue.eligible_agents == 0"
    assert explained["requirements"] == {"billing": 3}
    by_agent = {c["agent"]: c for c in explained["candidates"]}
    assert by_agent["english"]["reason"] == "missing_skill"
    assert "billing 2<3" in by_agent["english"]["detail"]
    assert by_agent["seller"]["reason"] == "agent_not_available"
    await Desk(rules_ctx).set_presence("seller", Presence.AVAILABLE)
    clock.advance(1)
    explained = await ExplainRepository(rules_ctx).explain(contact_id)
    seller = next(c for c in explained["candidates"] if c["agent"] == "seller")
    assert (seller["eligible"], seller["rank"], seller["queue_priority"]) == (True, 1, 2)
    assert await offered_to(router) == {contact_id: "seller"}


async def test_profile_delay_keeps_secondary_agents_off_young_contacts(
    rules_ctx: StoreContext, clock: ManualClock
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "seller", {"billing": 9}, profile="sales_team")
    contact_id = await arrive(rules_ctx, "x1")
    assert await offered_to(router) == {}
    explained = await ExplainRepository(rules_ctx).explain(contact_id)
    assert explained["candidates"][0]["reason"] == "queue_delay_not_reached"
    clock.advance(30)
    assert await offered_to(router) == {contact_id: "seller"}


async def test_a_preferred_agent_gets_the_contact_first_then_anyone_after_the_hold(
    rules_ctx: StoreContext, clock: ManualClock
) -> None:
    router = Router(rules_ctx)
    await add_agent(rules_ctx, "other", {"billing": 9})
    await add_agent(rules_ctx, "pat", {"billing": 9})
    await Desk(rules_ctx).set_presence("pat", Presence.AWAY, "meeting")
    held = await arrive(rules_ctx, "r1", attributes={"agent": "pat"})
    assert await offered_to(router) == {}  # held for pat, who is logged in but away
    clock.advance(20)
    assert await offered_to(router) == {held: "other"}
    await Desk(rules_ctx).set_presence("pat", Presence.OFFLINE)
    not_held = await arrive(rules_ctx, "r2", attributes={"agent": "pat"})
    explained = await ExplainRepository(rules_ctx).explain(not_held)
    assert explained["classification"]["preferred_agent"] == {
        "agent": "pat",
        "hold": "not_applied",
        "reason": "not_logged_in",
        "note": "pat was not logged in: no hold",
    }


async def test_reload_while_contacts_wait_keeps_their_place_and_applies_new_steps(
    rules_ctx: StoreContext, clock: ManualClock, redis: Redis
) -> None:
    router = Router(rules_ctx)
    await bootstrap(rules_ctx, None)
    first = await arrive(rules_ctx, "x1", channel=Channel.VOICE)
    clock.advance(1)
    second = await arrive(rules_ctx, "x2", channel=Channel.VOICE)
    waiting_key = rules_ctx.keys.queue_waiting("billing")
    before = await redis.zrange(waiting_key, 0, -1, withscores=True)
    await publish_text(rules_ctx, RULES.replace("after_seconds: 60", "after_seconds: 5"), "test")
    assert rules_ctx.rules.version == 1
    assert await redis.zrange(waiting_key, 0, -1, withscores=True) == before
    await add_agent(rules_ctx, "junior", {"billing": 4})
    clock.advance(5)
    await router.timers_once()
    offers = await offered_to(router)
    assert offers == {first: "junior"}  # the older contact first: places were kept
    assert second not in offers


async def test_rollback_restores_the_old_behaviour(rules_ctx: StoreContext) -> None:
    router = Router(rules_ctx)
    v1 = await publish_text(rules_ctx, RULES, "test")
    await add_agent(rules_ctx, "ann", {"billing": 9})
    without_billing = RULES.replace(
        "    queues: {billing: {priority: 1}}", "    queues: {sales: {priority: 1}}"
    )
    await publish_text(rules_ctx, without_billing, "test")
    contact_id = await arrive(rules_ctx, "x1")
    assert await offered_to(router) == {}  # ann's profile no longer serves billing
    text = await RulesStore(rules_ctx).text(v1.version)
    assert text is not None
    rolled = await publish_text(rules_ctx, text, "rollback")
    assert rolled.version == 3
    assert await offered_to(router) == {contact_id: "ann"}


async def test_a_bad_document_is_refused_and_the_rules_in_force_stay(
    rules_ctx: StoreContext, redis: Redis
) -> None:
    await publish_text(rules_ctx, RULES, "test")
    stored = {k: await redis.type(k) for k in await redis.keys("*rules*")}
    broken = RULES.replace(
        'contact.attributes.intent == "buy"', 'contact.atributes.intent == "buy"'
    )
    with pytest.raises(ConfigError) as refused:
        await publish_text(rules_ctx, broken, "test")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "atributes" in text)
    assert refused.value.fields["problems"][0]["line"] == line
    assert "did you mean 'attributes'" in refused.value.detail
    assert rules_ctx.rules.version == 1
    assert await RulesStore(rules_ctx).active_version() == 1
    assert {k: await redis.type(k) for k in await redis.keys("*rules*")} == stored


async def test_rules_that_remove_a_queue_with_waiting_contacts_are_refused(
    rules_ctx: StoreContext,
) -> None:
    await publish_text(rules_ctx, RULES, "test")
    await arrive(rules_ctx, "cb1", channel=Channel.VOICE, queue="callbacks")
    without_callbacks = (
        RULES.split("  callbacks:\n")[0] + RULES.split("overflow: {full: billing}\n")[1]
    )
    with pytest.raises(ConfigError) as refused:
        await publish_text(rules_ctx, without_callbacks, "test")
    assert "queue 'callbacks' is removed but 1 contact(s) still wait in it" in refused.value.detail
    assert rules_ctx.rules.version == 1


async def test_priority_rules_see_the_queue_a_full_queue_overflowed_to(
    redis: Redis, clock: ManualClock
) -> None:
    text = RULES.replace(
        "    add: 20\n",
        '    add: 20\n  - name: overflowed\n    when: contact.queue == "billing"\n    add: 7\n',
    )
    ctx = StoreContext.create(redis, "t1", parse_rules(text, "r.yaml"), clock)
    contacts = ContactRepository(ctx)
    first = await contacts.get(await arrive(ctx, "cb1", channel=Channel.VOICE, queue="callbacks"))
    second = await contacts.get(await arrive(ctx, "cb2", channel=Channel.VOICE, queue="callbacks"))
    assert (first["queue"], first["priority"]) == ("callbacks", 0)
    assert (second["queue"], second["priority"]) == ("billing", 7)
    assert second["overflowed"] == [["callbacks", "full"]]


async def test_explained_priority_terms_add_up_when_the_sum_is_clamped(
    redis: Redis, clock: ManualClock
) -> None:
    text = RULES.replace(
        "    skills: {billing: 7}\npriority_rules:", "    priority: 90\npriority_rules:"
    )
    ctx = StoreContext.create(redis, "t1", parse_rules(text, "r.yaml"), clock)
    contact_id = await arrive(ctx, "g1", customer={"tier": "gold"})  # 90 + 20, kept at 100
    score = (await ExplainRepository(ctx).explain(contact_id))["score"]
    assert score["priority"] == 100
    assert sum(t["priority"] for t in score["priority_terms"]) == 100
    assert score["priority_terms"][-1]["source"] == "clamped to -100..100"
