"""Signing in and what a token reaches: an agent's password gives its token, the token its own
desk only, and a token that is not this engine's (expired, forged, another tenant's) nothing."""

from __future__ import annotations

import base64
import json

import jwt
from aiohttp.test_utils import TestClient

from ccaas.domain.roles import Principal, Role
from ccaas.domain.tokens import TokenSigner
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import TEST_SECRET, MakeApi, bearer, dump, post_contact_from

ANN_PROFILE = {"name": "Ann", "queues": ["billing"]}


async def _agent(api: TestClient, agent_id: str, available: bool = True) -> None:
    put = await api.put(f"/v1/agents/{agent_id}", json={**ANN_PROFILE, "name": agent_id})
    assert put.status == 201
    if available:
        presence = {"presence": "available"}
        assert (await api.put(f"/v1/agents/{agent_id}/presence", json=presence)).status == 200


async def _sign_in(api: TestClient, agent_id: str, password: str) -> tuple[int, dict]:
    answer = await api.post(
        "/v1/auth/sign-in", json={"agent_id": agent_id, "password": password}, headers={}
    )
    return answer.status, await answer.json()


async def test_an_agent_signs_in_with_its_password_and_reaches_its_own_desk(
    make_api: MakeApi,
) -> None:
    admin = await make_api()
    await _agent(admin, "ann")
    await _agent(admin, "bob")
    anyone = await make_api(as_role=None)
    assert (await _sign_in(anyone, "ann", "correct horse"))[0] == 401  # no password set yet
    set_it = await admin.put("/v1/agents/ann/password", json={"password": "correct horse"})
    assert set_it.status == 200
    wrong, problem = await _sign_in(anyone, "ann", "wrong horse")
    unknown, unknown_problem = await _sign_in(anyone, "nobody", "correct horse")
    odd, _ = await _sign_in(anyone, "a:b", "correct horse")
    assert (wrong, unknown, odd) == (401, 401, 401)
    assert problem["detail"] == unknown_problem["detail"]  # who exists is not said
    status, signed = await _sign_in(anyone, "ann", "correct horse")
    assert status == 200
    assert (signed["agent_id"], signed["role"], signed["token_type"]) == ("ann", "agent", "Bearer")
    ann = {"Authorization": f"Bearer {signed['token']}"}
    assert (await anyone.get("/v1/agents/ann", headers=ann)).status == 200
    away = {"presence": "away", "reason": "break"}
    assert (await anyone.put("/v1/agents/ann/presence", json=away, headers=ann)).status == 200
    assert (await anyone.get("/v1/agents/bob", headers=ann)).status == 403
    bob_away = await anyone.put("/v1/agents/bob/presence", json=away, headers=ann)
    assert bob_away.status == 403
    assert (await anyone.get("/v1/agents", headers=ann)).status == 403
    assert (await anyone.put("/v1/agents/ann", json=ANN_PROFILE, headers=ann)).status == 403
    bob = await (await admin.get("/v1/agents/bob")).json()
    assert bob["presence"] == "available"  # ann's refused call changed nothing


async def test_no_read_carries_the_password_and_the_stream_names_only_the_agent(
    make_api: MakeApi,
) -> None:
    admin = await make_api()
    await _agent(admin, "ann")
    assert (await admin.put("/v1/agents/ann/password", json={"password": "s3cret-horse"})).ok
    redis = admin.server.app[SERVICES].ctx.redis
    everything = json.dumps(await dump(redis), default=str)
    assert "s3cret-horse" not in everything
    hashes = [key for key in await redis.keys("*") if key.endswith(":credentials")]
    assert hashes == ["ccaas:{t1}:agent:ann:credentials"]
    password_hash = await redis.hget(hashes[0], "password")
    assert password_hash.startswith("$argon2id$")
    assert password_hash not in json.dumps(await (await admin.get("/v1/agents/ann")).json())
    events = await redis.xrange("ccaas:{t1}:events")
    assert password_hash not in json.dumps(events)
    assert any(fields["type"] == "agent_password_set" for _, fields in events)


async def test_a_short_password_or_an_unknown_agent_is_refused_and_changes_nothing(
    make_api: MakeApi,
) -> None:
    admin = await make_api()
    await _agent(admin, "ann")
    redis = admin.server.app[SERVICES].ctx.redis
    before = await dump(redis)
    short = await admin.put("/v1/agents/ann/password", json={"password": "short"})
    assert short.status == 422
    assert (await short.json())["errors"][0]["field"] == "password"
    unknown = await admin.put("/v1/agents/zed/password", json={"password": "long enough"})
    assert unknown.status == 404
    assert await dump(redis) == before


def _forged(claims: dict, secret: bytes = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


async def test_tokens_that_are_not_this_engines_are_refused(make_api: MakeApi) -> None:
    api = await make_api(as_role=None)
    signer = TokenSigner(TEST_SECRET, "t1")
    valid = signer.issue(Principal(Role.ADMIN, "root"), 60).token
    expired = signer.issue(Principal(Role.ADMIN, "root"), 60, now=1_000_000).token
    other_tenant = TokenSigner(TEST_SECRET, "t2").issue(Principal(Role.ADMIN, "root"), 60).token
    other_secret = TokenSigner(b"x" * 40, "t1").issue(Principal(Role.ADMIN, "root"), 60).token
    header, payload, _ = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    unsigned = (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        + "."
        + payload
        + "."
    )
    promoted = dict(claims, role="superuser")
    tampered = (
        header
        + "."
        + base64.urlsafe_b64encode(json.dumps(dict(claims, sub="someone-else")).encode())
        .rstrip(b"=")
        .decode()
        + "."
        + valid.split(".")[2]
    )
    refused = {
        "expired": expired,
        "another tenant's": other_tenant,
        "another secret's": other_secret,
        "alg none": unsigned,
        "an unknown role": _forged(promoted),
        "a changed payload": tampered,
        "garbage": "not.a.token",
    }
    assert (await api.get("/v1/agents", headers={"Authorization": f"Bearer {valid}"})).ok
    for why, token in refused.items():
        answer = await api.get("/v1/agents", headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 401, why
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), why
    basic = await api.get("/v1/agents", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status == 401
    assert "expired" in (await (await api.get(
        "/v1/agents", headers={"Authorization": f"Bearer {expired}"}
    )).json())["detail"]  # fmt: skip


async def test_an_agent_reads_only_its_offers_and_the_customers_it_served(
    make_api: MakeApi,
) -> None:
    admin = await make_api()
    ctx = admin.server.app[SERVICES].ctx
    await _agent(admin, "ann")
    await _agent(admin, "bob", available=False)
    jo = await post_contact_from(admin, "chat-jo", {"email": "jo@example.com"})
    sam = await post_contact_from(admin, "chat-sam", {"email": "sam@example.com"})
    await Router(ctx).route_once()
    jo_now = await (await admin.get(f"/v1/contacts/{jo['id']}")).json()
    assert jo_now["agent_id"] == "ann"
    ann, bob = bearer(Role.AGENT, "ann"), bearer(Role.AGENT, "bob")
    assert (await admin.get(f"/v1/contacts/{jo['id']}", headers=ann)).status == 200
    assert (await admin.get(f"/v1/contacts/{jo['id']}", headers=bob)).status == 403
    offer = jo_now["offer_id"]
    before = await dump(ctx.redis)
    stolen = await admin.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"}, headers=bob)
    assert stolen.status == 403
    assert await dump(ctx.redis) == before
    # before accepting, ann does not read the customer; after, she does, bob never
    customer = jo_now["customer_id"]
    assert (await admin.get(f"/v1/customers/{customer}", headers=ann)).status == 403
    accepted = await admin.post(f"/v1/offers/{offer}/accept", json={"agent_id": "ann"}, headers=ann)
    assert accepted.status == 200
    assert (await admin.get(f"/v1/customers/{customer}", headers=ann)).status == 200
    assert (await admin.get(f"/v1/customers/{customer}/timeline", headers=ann)).status == 200
    assert (await admin.get(f"/v1/customers/{customer}", headers=bob)).status == 403
    sam_now = await (await admin.get(f"/v1/contacts/{sam['id']}")).json()
    if sam_now.get("agent_id") != "ann":  # ann has room for both chats: then she holds sam too
        assert (
            await admin.get(f"/v1/customers/{sam_now['customer_id']}", headers=ann)
        ).status == 403
    # a merge keeps who served whom; an erasure forgets it
    other = await post_contact_from(admin, "chat-other", {"email": "other@example.com"})
    other_customer = (await (await admin.get(f"/v1/contacts/{other['id']}")).json())["customer_id"]
    merged = await admin.post(f"/v1/customers/{other_customer}/merge", json={"from": customer})
    assert merged.status == 200, await merged.text()
    assert (await admin.get(f"/v1/customers/{other_customer}", headers=ann)).status == 200
    assert (await admin.delete(f"/v1/customers/{other_customer}")).status == 200
    assert await ctx.redis.keys("*customer:*:agents") == []
