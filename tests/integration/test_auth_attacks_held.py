"""Sign-in and roles under attack: forged tokens, odd headers and methods, sign-in answers
that tell nothing, and an agent that reaches no one else's work."""

from __future__ import annotations

import base64
import json
import warnings

import jwt

from ccaas.domain.roles import Role
from ccaas.router.service import Router
from ccaas.web.services import SERVICES
from tests.helpers import TEST_SECRET, MakeApi, bearer, dump, post_contact_from, token


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_odd_headers_and_forged_tokens(make_api: MakeApi) -> None:
    api = await make_api(as_role=None)
    warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
    good = token(Role.ADMIN)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    odd = {
        "lower-case scheme": (f"bearer {good}", 200),
        "two spaces": (f"Bearer  {good}", 200),
        "tab": (f"Bearer\t{good}", 401),
        "scheme only": ("Bearer", 401),
        "two tokens": (f"Bearer {good} {good}", 401),
        "kid header": (
            jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers={"kid": "../../x"}),
            200,
        ),
        "HS512 same secret": (jwt.encode(claims, TEST_SECRET, algorithm="HS512"), 401),
        "alg none, no signature": (_b64({"alg": "none"}) + "." + payload + ".", 401),
        "alg None capitalised": (_b64({"alg": "None"}) + "." + payload + ".", 401),
        "no exp": (jwt.encode({k: v for k, v in claims.items() if k != "exp"}, TEST_SECRET), 401),
        "no ten": (jwt.encode({k: v for k, v in claims.items() if k != "ten"}, TEST_SECRET), 401),
        "no iss": (jwt.encode({k: v for k, v in claims.items() if k != "iss"}, TEST_SECRET), 401),
        "sub empty": (jwt.encode(dict(claims, sub=""), TEST_SECRET), 401),
        "sub a number": (jwt.encode(dict(claims, sub=7), TEST_SECRET), 401),
        "role a list": (jwt.encode(dict(claims, role=["admin"]), TEST_SECRET), 401),
        "role upper case": (jwt.encode(dict(claims, role="ADMIN"), TEST_SECRET), 401),
        "ten a list": (jwt.encode(dict(claims, ten=["t1"]), TEST_SECRET), 401),
        "signature of another header": (header + "." + payload + "." + signature[::-1], 401),
    }
    wrong = []
    for why, (value, expected) in odd.items():
        value = value if value.lower().startswith("bearer") else f"Bearer {value}"
        answer = await api.get("/v1/agents", headers={"Authorization": value})
        if answer.status != expected:
            wrong.append(f"{why}: {answer.status}")
    huge = await api.get("/v1/agents", headers={"Authorization": "Bearer " + "a" * 20000})
    assert huge.status in (400, 401, 431)
    assert not wrong, wrong


async def test_head_and_unknown_methods_are_checked_like_get(make_api: MakeApi) -> None:
    api = await make_api(as_role=None)
    agent = bearer(Role.AGENT, "a1")
    assert (await api.head("/v1/agents", headers=agent)).status == 403
    assert (await api.head("/v1/admin/rules", headers=bearer(Role.ADAPTER, "w"))).status == 403
    assert (await api.request("PROPFIND", "/v1/agents")).status == 401
    assert (await api.get("/v1//agents")).status == 401
    assert (await api.get("/v1/agents/../admin/rules")).status == 401


async def test_sign_in_answers_alike_and_logs_no_password(make_api: MakeApi) -> None:
    admin = await make_api()
    await admin.put("/v1/agents/ann", json={"name": "ann"})
    await admin.put("/v1/agents/bob", json={"name": "bob"})
    assert (await admin.put("/v1/agents/ann/password", json={"password": "correct horse"})).ok
    anyone = await make_api(as_role=None)
    answers = []
    for agent_id in ("ann", "bob", "nobody", "a:b"):
        r = await anyone.post("/v1/auth/sign-in", json={"agent_id": agent_id, "password": "x"})
        body = await r.json()
        answers.append((r.status, body["detail"], body["type"], r.headers["WWW-Authenticate"]))
    assert len(set(answers)) == 1, answers
    redis = admin.server.app[SERVICES].ctx.redis
    assert "correct horse" not in json.dumps(await dump(redis), default=str)


async def test_agent_reaches_no_one_elses_work(make_api: MakeApi) -> None:
    admin = await make_api()
    ctx = admin.server.app[SERVICES].ctx
    for agent_id in ("ann", "bob"):
        await admin.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "queues": ["billing"]})
    await admin.put("/v1/agents/ann/presence", json={"presence": "available"})
    jo = await post_contact_from(admin, "chat-jo", {"email": "jo@example.com"})
    await Router(ctx).route_once()
    now = await (await admin.get(f"/v1/contacts/{jo['id']}")).json()
    ann, bob = bearer(Role.AGENT, "ann"), bearer(Role.AGENT, "bob")
    await admin.post(f"/v1/offers/{now['offer_id']}/accept", json={"agent_id": "ann"}, headers=ann)
    await admin.put(f"/v1/contacts/{jo['id']}/body", data="secret words", headers={
        "Content-Type": "text/plain"})  # fmt: skip
    before = await dump(ctx.redis)
    calls = [
        ("GET", f"/v1/contacts/{jo['id']}", None),
        ("GET", f"/v1/contacts/{jo['id']}/body", None),
        ("GET", f"/v1/contacts/{jo['id']}/explain", None),
        ("GET", f"/v1/customers/{now['customer_id']}", None),
        ("GET", f"/v1/customers/{now['customer_id']}/timeline", None),
        ("GET", "/v1/agents/ann", None),
        ("GET", "/v1/customers?email=jo@example.com", None),
        ("POST", f"/v1/contacts/{jo['id']}/complete", {"agent_id": "ann"}),
        ("PUT", "/v1/agents/ann/presence", {"presence": "away"}),
        ("DELETE", f"/v1/contacts/{jo['id']}", None),
        ("POST", "/v1/auth/tokens", {"role": "admin", "name": "bob"}),
        ("PUT", "/v1/agents/bob/password", {"password": "long enough"}),
        ("PUT", "/v1/agents/ann/password", {"password": "long enough"}),
    ]
    for method, path, body in calls:
        answer = await admin.request(method, path, json=body, headers=bob)
        assert answer.status == 403, (method, path, answer.status)
    not_bobs = await admin.post(f"/v1/contacts/{jo['id']}/complete", json={"agent_id": "bob"},
                                headers=bob)  # fmt: skip
    assert not_bobs.status == 409
    assert await dump(ctx.redis) == before
    assert (await admin.get(f"/v1/contacts/{jo['id']}/body", headers=ann)).status == 200
    # a customer id that does not exist and one bob never served answer alike
    assert (await admin.get("/v1/customers/u0000000000000000", headers=bob)).status == 403
