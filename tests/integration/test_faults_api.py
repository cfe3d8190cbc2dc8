"""Issue 9, reliability: what each call answers when Redis is away, and answers that only the
acting agent may get.

With Redis killed, then stalled (SIGSTOP), a hundred calls of every kind answer 503
problem+json with Retry-After within 1.5 s and /healthz says unreachable; once Redis is
back they answer normally within about 2 s. An agent trying to accept, reject or complete
another agent's offers, racing their ring-outs, is always refused (409) and gets nothing.
A retried accept, reject or complete that had succeeded answers 200 again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import (
    FAULT_ANSWER_SECONDS,
    Answer,
    Api,
    FaultRun,
    LoadSettings,
)

pytestmark = pytest.mark.slow

NO_AGENTS = LoadSettings(agents=0)


async def setup_desk(api: Api, agent: str, queues: list[str]) -> None:
    put = await api.call(
        "setup", "PUT", f"/v1/agents/{agent}", body={"name": agent, "queues": queues}
    )
    assert put.status == 201, put.describe()
    available = {"presence": "available"}
    presence = await api.call("setup", "PUT", f"/v1/agents/{agent}/presence", body=available)
    assert presence.status == 200, presence.describe()


async def new_contact(api: Api, external_id: str, queue: str, **more: Any) -> str:
    body = {"channel": "chat", "external_id": external_id, "queue": queue, **more}
    answer = await api.call("setup", "POST", "/v1/contacts", body=body)
    assert answer.status == 201, answer.describe()
    contact_id: str = answer.body["id"]
    return contact_id


async def offers_of(api: Api, agent: str, seconds: float = 5.0) -> list[dict[str, Any]]:
    """The offers ringing on the agent's desk, once there is one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen = await api.call("setup", "GET", f"/v1/agents/{agent}", actor=agent, record=False)
        offered = [w for w in (seen.body or {}).get("work", []) if w.get("state") == "offered"]
        if offered:
            return offered
        await asyncio.sleep(0.05)
    raise AssertionError(f"{agent} got no offer within {seconds} s")


def every_call(ids: dict[str, str]) -> list[tuple[str, str, Any, str | None]]:
    """One call of each kind the API has that needs Redis: (method, path, JSON body, text)."""
    c, gone, o, cu, cu2 = (
        ids["contact"],
        ids["other_contact"],
        ids["offer"],
        ids["customer"],
        ids["other_customer"],
    )
    rules = "queues:\n  chat: {channels: [chat]}\n"
    return [
        ("GET", f"/v1/contacts/{c}", None, None),
        ("GET", f"/v1/contacts/{c}/explain", None, None),
        (
            "POST",
            "/v1/contacts",
            {"channel": "chat", "external_id": "down-1", "queue": "chat"},
            None,
        ),
        ("DELETE", f"/v1/contacts/{gone}", None, None),
        ("POST", f"/v1/contacts/{c}/complete", {"agent_id": "a1", "disposition": "other"}, None),
        ("PUT", f"/v1/contacts/{c}/body?kind=transcript", None, "hello, is anyone there?"),
        ("GET", f"/v1/contacts/{c}/body", None, None),
        ("GET", "/v1/agents", None, None),
        ("GET", "/v1/agents?limit=1&after=a0", None, None),
        ("GET", "/v1/agents/a1", None, None),
        ("PUT", "/v1/agents/a1", {"name": "A1", "queues": ["chat"]}, None),
        ("PUT", "/v1/agents/a2", {"name": "A2", "queues": ["chat"]}, None),
        ("PUT", "/v1/agents/a1/presence", {"presence": "away", "reason": "lunch"}, None),
        ("POST", f"/v1/offers/{o}/accept", {"agent_id": "a1"}, None),
        ("POST", f"/v1/offers/{o}/reject", {"agent_id": "a1"}, None),
        ("GET", "/v1/queues", None, None),
        ("GET", "/v1/queues/chat", None, None),
        ("GET", "/v1/customers?phone=%2B442079460001", None, None),
        ("GET", f"/v1/customers/{cu}", None, None),
        ("PATCH", f"/v1/customers/{cu}", {"tier": "gold"}, None),
        ("GET", f"/v1/customers/{cu}/timeline", None, None),
        (
            "POST",
            f"/v1/customers/{cu}/identities",
            {"identities": [{"kind": "email", "value": "jo@example.com"}]},
            None,
        ),
        ("POST", f"/v1/customers/{cu}/merge", {"from": cu2}, None),
        ("DELETE", f"/v1/customers/{cu2}", None, None),
        ("GET", "/v1/admin/rules", None, None),
        ("PUT", "/v1/admin/rules", None, rules),
        ("GET", "/v1/admin/rules/versions", None, None),
        ("POST", "/v1/admin/rules/rollback/1", None, None),
    ]


async def hundred_calls(api: Api, ids: dict[str, str], label: str) -> list[str]:
    """100 calls (every kind in turn, 20 at a time) and /healthz: problems unless each is a
    quick 503 of the documented shape."""
    calls = every_call(ids)
    limit = asyncio.Semaphore(20)

    async def one(n: int) -> Answer:
        method, path, body, text = calls[n % len(calls)]
        async with limit:
            return await api.call(label, method, path, body=body, text=text, record=False)

    answers = list(await asyncio.gather(*(one(n) for n in range(100))))
    answers.append(await api.call("health", "GET", "/healthz", record=False))
    problems = []
    for a in answers:
        body = a.body if isinstance(a.body, dict) else {}
        if a.error or a.status != 503 or a.seconds > FAULT_ANSWER_SECONDS:
            problems.append(f"{label}: not a 503 within {FAULT_ANSWER_SECONDS} s: {a.describe()}")
        elif a.path == "/healthz":
            if body.get("status") != "unhealthy" or body.get("redis") != "unreachable":
                problems.append(f"{label}: /healthz said {a.describe()}")
        elif not a.content_type.startswith("application/problem+json") or body.get("status") != 503:
            problems.append(f"{label}: 503 not as problem+json: {a.content_type} {a.describe()}")
        elif not (a.retry_after or "").strip().isdigit():
            problems.append(f"{label}: 503 without a Retry-After in seconds: {a.describe()}")
    return problems


async def answers_again(api: Api, since: float, label: str) -> list[str]:
    """Once Redis is back, calls answer normally within ~2 s."""
    while time.time() < since + 5.0:
        queues = await api.call(label, "GET", "/v1/queues", record=False)
        health = await api.call(label, "GET", "/healthz", record=False)
        if queues.status == 200 and health.status == 200:
            took = min(queues.ended, health.ended) - since
            return [] if took <= 2.5 else [f"{label}: normal answers only {took:.1f} s later"]
        await asyncio.sleep(0.05)
    return [f"{label}: still not answering normally 5 s after Redis came back: {queues.describe()}"]


async def test_every_call_answers_503_quickly_while_redis_is_down_or_stalled(
    tmp_path: Path,
) -> None:
    async with FaultRun(tmp_path, replicas=1, load=NO_AGENTS) as run:
        api = run.api
        await setup_desk(api, "a1", ["chat"])
        contact = await new_contact(
            api, "c-1", "chat", customer={"phone": "+44 20 7946 0001", "name": "Jo"}
        )
        offer = (await offers_of(api, "a1"))[0]["offer_id"]
        other = await new_contact(api, "c-2", "chat", customer={"email": "al@example.com"})
        got = await api.call("setup", "GET", f"/v1/contacts/{contact}")
        got_other = await api.call("setup", "GET", f"/v1/contacts/{other}")
        ids = {
            "contact": contact,
            "other_contact": other,
            "offer": offer,
            "customer": got.body["customer_id"],
            "other_customer": got_other.body["customer_id"],
        }
        problems: list[str] = []

        run.redis.kill()
        problems += await hundred_calls(api, ids, "redis killed")
        back = await run.redis.start()
        problems += await answers_again(api, back, "after the restart")

        run.redis.pause()
        try:
            problems += await hundred_calls(api, ids, "redis stalled")
        finally:
            resumed = run.redis.resume()
        problems += await answers_again(api, resumed, "after SIGCONT")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])


PROBE_YAML = """\
# the probe: Q's offers ring for 1 s and Q never answers (nor goes away for it)
max_missed_offers: 1000
queues:
  q: {channels: [chat], offer_timeout_seconds: 1}
  other: {channels: [chat]}
"""


async def test_an_agent_never_gets_another_agents_offer(tmp_path: Path) -> None:
    """Agent P tries 300 times to accept (and complete, and now and then reject) offers that
    belong to Q, read from GET /v1/agents/Q, half of the tries timed to land just as the
    offer rings out. Every one is refused with 409; P never holds Q's contacts."""
    async with FaultRun(tmp_path, replicas=1, load=NO_AGENTS, routing_yaml=PROBE_YAML) as run:
        api = run.api
        await setup_desk(api, "Q", ["q"])
        await setup_desk(api, "P", ["other"])
        contacts = [await new_contact(api, f"q-{n}", "q") for n in range(6)]
        await offers_of(api, "Q")
        tries: list[Answer] = []
        count = 0
        deadline = time.monotonic() + 40.0
        last_offer = [time.monotonic()]

        async def prober(seed: int) -> None:
            nonlocal count
            rng = random.Random(seed)
            while count < 300 and time.monotonic() < deadline:
                seen = await api.call("probe_read", "GET", "/v1/agents/Q", actor="P")
                work = (seen.body or {}).get("work", []) if seen.status == 200 else []
                offered = [w for w in work if w.get("state") == "offered"]
                if not offered:
                    if time.monotonic() - last_offer[0] > 5.0:
                        return  # nothing rings for Q any more: P's "accepts" took its contacts
                    await asyncio.sleep(0.02)
                    continue
                last_offer[0] = time.monotonic()
                item = rng.choice(offered)
                if rng.random() < 0.5:  # land just as it rings out
                    ring_out = item["offer_expires_at"] / 1000 - rng.uniform(-0.03, 0.1)
                    await asyncio.sleep(min(1.2, max(0.0, ring_out - time.time())))
                count += 1
                offer, contact = item["offer_id"], item["contact_id"]
                me = {"agent_id": "P"}
                ref = {
                    "contact": contact,
                    "offer": offer,
                    "rings_out": str(item["offer_expires_at"]),
                }
                tries.append(
                    await api.call(
                        "probe_accept",
                        "POST",
                        f"/v1/offers/{offer}/accept",
                        actor="P",
                        body=me,
                        ref=ref,
                    )
                )
                tries.append(
                    await api.call(
                        "probe_complete",
                        "POST",
                        f"/v1/contacts/{contact}/complete",
                        actor="P",
                        body={**me, "disposition": "other"},
                        ref=ref,
                    )
                )
                if count % 3 == 0:
                    tries.append(
                        await api.call(
                            "probe_reject",
                            "POST",
                            f"/v1/offers/{offer}/reject",
                            actor="P",
                            body=me,
                            ref=ref,
                        )
                    )

        await asyncio.gather(*(prober(seed) for seed in range(6)))
        unnamed: Answer | None = None
        with contextlib.suppress(AssertionError):  # none rings when P's "accepts" took them
            missing_offer = (await offers_of(api, "Q"))[0]["offer_id"]
            unnamed = await api.call(
                "probe_422", "POST", f"/v1/offers/{missing_offer}/accept", body={}, record=False
            )
        p_desk = await api.call("final", "GET", "/v1/agents/P", record=False)
        finals = [
            await api.call("final", "GET", f"/v1/contacts/{c}", record=False) for c in contacts
        ]
        history = await run.history()

    wrong = [
        t
        for t in tries
        if t.status != 409 or not t.content_type.startswith("application/problem+json")
    ]
    problems = (
        [f"{len(wrong)} of {len(tries)} answers to P were not a 409 refusal"] if wrong else []
    )
    if count < 300:
        problems.append(f"only {count} of 300 tries: Q's offers stopped ringing")
    problems += [f"  {t.kind}: {t.describe()}" for t in wrong[:20]]
    by_p = [e for _, e in history if e.get("agent") == "P"]
    if [e for e in by_p if e.get("type") != "agent_presence" and e.get("type") != "agent_created"]:
        problems.append(f"the stream shows P acting on contacts: {by_p[:5]}")
    connected = [e for _, e in history if e.get("type") == "contact_connected"]
    if connected:
        problems.append(f"Q never answers, yet contacts were connected: {connected[:5]}")
    for answer in finals:
        if not isinstance(answer.body, dict) or answer.body.get("agent_id") == "P":
            problems.append(f"a contact of Q ended with P: {answer.describe()}")
        elif answer.body.get("state") not in ("queued", "offered"):
            problems.append(f"a contact of Q changed though only P acted: {answer.describe()}")
    if (p_desk.body or {}).get("work"):
        problems.append(f"P's desk holds work: {p_desk.describe()}")
    ring_outs = sum(1 for _, e in history if e.get("type") == "offer_timed_out")
    raced = [
        t
        for t in tries
        if t.kind == "probe_accept" and abs(t.started - int(t.ref["rings_out"]) / 1000) < 0.15
    ]
    print(f"{count} tries, {len(tries)} answers, {len(raced)} raced, {ring_outs} ring-outs")
    if ring_outs < 10 or len(raced) < 50:
        problems.append(f"{len(raced)} tries within 150 ms of a ring-out, {ring_outs} ring-outs")
    if unnamed is None:
        problems.append("no offer of Q rang any more to try an accept without agent_id")
    for answer in [unnamed] if unnamed else []:
        fields = [e.get("field") for e in (answer.body or {}).get("errors", [])]
        if answer.status != 422 or "agent_id" not in fields:
            problems.append(f"accept without agent_id is not a 422 naming it: {answer.describe()}")
    assert not problems, "\n".join(problems)


async def test_a_retried_accept_reject_or_complete_answers_200_again(tmp_path: Path) -> None:
    """A client that lost the answer sends the same call again: an accept, a reject and a
    complete that had succeeded answer 200 again, with the same contact state."""
    yaml = "queues:\n  q: {channels: [chat], offer_timeout_seconds: 30}\n"
    async with FaultRun(tmp_path, replicas=1, load=NO_AGENTS, routing_yaml=yaml) as run:
        api = run.api
        await setup_desk(api, "R", ["q"])
        first = await new_contact(api, "r-1", "q")
        offer = next(o for o in await offers_of(api, "R") if o["contact_id"] == first)["offer_id"]
        me = {"agent_id": "R"}
        accepts = [
            await api.call("accept", "POST", f"/v1/offers/{offer}/accept", actor="R", body=me)
            for _ in range(2)
        ]
        done = {**me, "disposition": "resolved", "notes": "twice"}
        completes = [
            await api.call(
                "complete", "POST", f"/v1/contacts/{first}/complete", actor="R", body=done
            )
            for _ in range(2)
        ]
        second = await new_contact(api, "r-2", "q")
        offer2 = next(o for o in await offers_of(api, "R") if o["contact_id"] == second)["offer_id"]
        rejects = [
            await api.call("reject", "POST", f"/v1/offers/{offer2}/reject", actor="R", body=me)
            for _ in range(2)
        ]
        events = await run.history()
    problems = []
    for name, pair in (("accept", accepts), ("complete", completes), ("reject", rejects)):
        statuses = [a.status for a in pair]
        if statuses != [200, 200]:
            problems.append(f"{name} twice answered {statuses}: {[a.describe() for a in pair]}")
    if accepts[0].status == accepts[1].status == 200:
        states = [(a.body.get("state"), a.body.get("agent_id")) for a in accepts]
        if states != [("connected", "R")] * 2:
            problems.append(f"accept twice: {states}")
    if completes[0].status == completes[1].status == 200:
        states = [(a.body.get("state"), a.body.get("agent_id")) for a in completes]
        if states[0] != states[1] or states[0][0] not in ("wrap_up", "completed"):
            problems.append(f"complete twice: {states}")
    once = [
        e
        for _, e in events
        if e.get("type") in ("contact_connected", "contact_handled", "offer_rejected")
    ]
    if len(once) != 3:
        problems.append(f"a retried call happened twice: {once}")
    assert not problems, "\n".join(problems)
