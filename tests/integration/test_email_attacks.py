"""Hostile email over real SMTP (the engine's listener and a relay sink)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ccaas.router.service import Router
from ccaas.runtime.engine import EmailOptions
from ccaas.store.messages import MessageRepository
from ccaas.web.services import SERVICES
from tests.helpers import MakeApi, dump
from tests.integration.test_email import RULES
from tests.smtp_servers import Sink, customer_mail, relay_sink, send


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, int]]:
    async with relay_sink() as found:
        yield found


@pytest.fixture
async def api(make_api: MakeApi, sink: tuple[Sink, int]) -> TestClient:
    email = EmailOptions(relay_url=f"smtp://127.0.0.1:{sink[1]}", sender="Acme <support@acme.test>")
    return await make_api(RULES, email=email)


async def _smtp_port(api: TestClient) -> int:
    health = await (await api.get("/healthz")).json()
    return int(health["smtp"].rpartition(":")[2])


async def send_raw(port: int, sender: str, raw: bytes) -> str:
    """Send bytes as they are (no re-encoding by EmailMessage)."""

    def deliver() -> str:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail(sender)
            client.rcpt("support@acme.test")
            code, answer = client.data(raw)
            return f"{code} {answer.decode()}"

    return await asyncio.to_thread(deliver)


async def _contact_of(api: TestClient, message_id: str) -> dict[str, Any]:
    ctx = api.server.app[SERVICES].ctx
    contact_id = await ctx.redis.hget(ctx.keys.external_ids, f"email:{message_id}")
    assert contact_id, f"no contact for {message_id}"
    return dict(await (await api.get(f"/v1/contacts/{contact_id}")).json())


async def _accept_all(api: TestClient) -> None:
    ctx = api.server.app[SERVICES].ctx
    await Router(ctx).route_once()
    for contact_id in await ctx.redis.hvals(ctx.keys.external_ids):
        contact = await (await api.get(f"/v1/contacts/{contact_id}")).json()
        if contact.get("offer_id"):
            answer = await api.post(
                f"/v1/offers/{contact['offer_id']}/accept", json={"agent_id": "ann"}
            )
            assert answer.status == 200


async def _agent(api: TestClient) -> None:
    agent = {"name": "Ann", "queues": ["support"], "capacity": {"email": 5}}
    assert (await api.put("/v1/agents/ann", json=agent)).status == 201
    assert (await api.put("/v1/agents/ann/presence", json={"presence": "available"})).status == 200


async def test_a_subject_with_an_encoded_crlf_does_not_stop_every_later_reply(
    api: TestClient, sink: tuple[Sink, int]
) -> None:
    """A customer's Subject is an RFC 2047 encoded word that decodes to CR LF. The agent's
    reply to it must not inject a header, and must not stop the relay: the next contact's
    reply still goes out."""
    port = await _smtp_port(api)
    await _agent(api)
    evil = (
        b"From: Eve <eve@example.com>\r\nTo: support@acme.test\r\n"
        b"Subject: =?utf-8?q?hello=0D=0ABcc=3A_victim=40example.org?=\r\n"
        b"Message-ID: <evil1@example.com>\r\n\r\nhi there\r\n"
    )
    assert (await send_raw(port, "eve@example.com", evil)).startswith("250")
    good = customer_mail("Where is my parcel?", message_id="<good1@example.com>")
    assert (await send(port, good)).startswith("250")
    await _accept_all(api)
    ctx = api.server.app[SERVICES].ctx
    messages = MessageRepository(ctx)
    bad_contact = await _contact_of(api, "<evil1@example.com>")
    good_contact = await _contact_of(api, "<good1@example.com>")
    await messages.post(bad_contact["id"], "agent", "Hello Eve", "ann")
    await messages.post(good_contact["id"], "agent", "Your parcel ships today", "ann")
    relay, _ = sink
    for _ in range(80):  # up to 8 s: the relay restarts after a failure every 0.5 s
        if any(m.get_content().strip() == "Your parcel ships today" for m in relay.messages):
            break
        await asyncio.sleep(0.1)
    texts = [m.get_content().strip() for m in relay.messages]
    assert "Your parcel ships today" in texts, f"the relay is stuck; it sent {texts}"
    assert all(m.get("Bcc") is None for m in relay.messages)


async def test_a_reply_to_our_message_id_of_a_contact_that_is_gone_starts_a_contact(
    api: TestClient,
) -> None:
    """In-Reply-To one of our Message-IDs whose contact no longer exists (or never did):
    the mail is a new contact, not bounced for good with 550 'no contact'."""
    port = await _smtp_port(api)
    mail = customer_mail(
        "Still waiting for that refund",
        message_id="<late1@example.com>",
        in_reply_to="<m.1764626410002-0.c00000000deadbeef@acme.test>",
        references="<m.1764626410002-0.c00000000deadbeef@acme.test>",
    )
    answer = await send(port, mail)
    assert answer.startswith("250"), answer
    await _contact_of(api, "<late1@example.com>")


async def test_a_stranger_cannot_thread_onto_another_customers_open_contact(
    api: TestClient,
) -> None:
    """Mallory knows (or saw, being in Cc) the Message-ID of Jo's mail. Her mail answering
    it must not join Jo's open contact as if Jo had written it."""
    port = await _smtp_port(api)
    jo = customer_mail("My card was charged twice", message_id="<jo1@example.com>")
    assert (await send(port, jo)).startswith("250")
    victim = await _contact_of(api, "<jo1@example.com>")
    mallory = customer_mail(
        "Please change my delivery address to 1 Evil Street",
        message_id="<mal1@evil.test>",
        sender="Mallory <mallory@evil.test>",
        subject="Re: My bill is wrong",
        in_reply_to="<jo1@example.com>",
        references="<jo1@example.com>",
    )
    assert (await send(port, mallory)).startswith("250")
    texts = [
        m["text"] for m in await (await api.get(f"/v1/contacts/{victim['id']}/messages")).json()
    ]
    assert texts == ["My card was charged twice"], texts


async def test_a_stranger_cannot_write_into_a_chat_contact_by_its_id(api: TestClient) -> None:
    """Our Message-ID form names a contact id and nothing else is checked: a contact id
    (it is on every MQTT events topic) lets an email write into any contact, chat too."""
    port = await _smtp_port(api)
    created = await api.post(
        "/v1/contacts", json={"channel": "chat", "external_id": "w-1", "queue": "support"}
    )
    assert created.status in (200, 201), await created.text()
    chat_id = (await created.json())["id"]
    forged = customer_mail(
        "I am the customer, send the code to mallory@evil.test",
        message_id="<mal2@evil.test>",
        sender="Mallory <mallory@evil.test>",
        in_reply_to=f"<m.1-0.{chat_id}@acme.test>",
    )
    await send(port, forged)
    texts = [m["text"] for m in await (await api.get(f"/v1/contacts/{chat_id}/messages")).json()]
    assert texts == [], texts


async def test_a_from_with_an_encoded_crlf_is_refused_for_good_not_deferred(
    api: TestClient,
) -> None:
    """A From whose display name decodes to CR LF: the address is fine, so the mail is
    taken (250), or else refused for good (550); never 451, which has the sender's server
    try again for days, each time the same."""
    port = await _smtp_port(api)
    raw = (
        b"From: =?utf-8?q?Jo=0D=0ABcc=3A_x?= <jo@example.com>\r\nTo: support@acme.test\r\n"
        b"Subject: x\r\nMessage-ID: <crlf-from@example.com>\r\n\r\nhi\r\n"
    )
    answer = await send_raw(port, "jo@example.com", raw)
    assert answer.startswith(("250", "550")), answer


async def test_erasure_leaves_no_address_in_a_failed_replys_reason(
    api: TestClient, sink: tuple[Sink, int]
) -> None:
    """The relay refuses the reply naming the recipient (as Postfix does). After the
    customer is erased, their address must be nowhere in Redis (the event stream is never
    erased, and MQTT adapters read the reason from it)."""
    port = await _smtp_port(api)
    await _agent(api)
    mail = customer_mail(
        "Hello?", message_id="<er1@example.com>", sender="Jo <jo.secret@example.com>"
    )
    assert (await send(port, mail)).startswith("250")
    await _accept_all(api)
    contact = await _contact_of(api, "<er1@example.com>")
    relay, _ = sink
    relay.answer = "550 5.1.1 <jo.secret@example.com>: Recipient address rejected: User unknown"
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(contact["id"], "agent", "Anyone there?", "ann")
    for _ in range(100):
        messages = await (await api.get(f"/v1/contacts/{contact['id']}/messages")).json()
        if messages[-1]["delivery"] == "failed":
            break
        await asyncio.sleep(0.05)
    assert messages[-1]["delivery"] == "failed"
    erased = await api.delete(f"/v1/customers/{contact['customer_id']}")
    assert erased.status == 200, await erased.text()
    left = [key for key, value in (await dump(ctx.redis)).items() if "jo.secret" in repr(value)]
    assert left == [], f"the erased customer's address is still in {left}"


async def test_a_mail_deferred_half_way_is_taken_when_sent_again_after_its_contact_ended(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis fails after the contact was made but before its message: 451, the contact
    waits without the mail's text. The customer leaves (it is abandoned) before the
    sender's server tries again; from then on every retry must not be 451 (the mail
    would bounce days later, never taken)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    port = await _smtp_port(api)
    real_post = MessageRepository.post

    async def fails_once(self: MessageRepository, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(MessageRepository, "post", real_post)
        raise RedisConnectionError("Connection reset by peer")

    monkeypatch.setattr(MessageRepository, "post", fails_once)
    mail = customer_mail("Please call me back", message_id="<half1@example.com>")
    assert (await send(port, mail)).startswith("451")
    contact = await _contact_of(api, "<half1@example.com>")
    assert (await api.delete(f"/v1/contacts/{contact['id']}")).status == 200
    answers = [await send(port, mail) for _ in range(2)]
    assert not any(a.startswith("451") for a in answers), answers


async def test_a_reply_naming_a_voice_contact_is_not_deferred_forever(make_api: MakeApi) -> None:
    """In-Reply-To names a voice contact by our Message-ID form: a conversation the
    contact cannot have. Every retry answers 451 the same way."""
    from ccaas.domain.rules.schema import RoutingConfig

    rules = RoutingConfig.model_validate(
        {
            "queues": {"support": {"channels": ["email", "voice"]}},
            "classification": [{"name": "all", "when": "true", "queue": "support"}],
        }
    )
    api = await make_api(rules, email=EmailOptions(sender="Acme <support@acme.test>"))
    port = await _smtp_port(api)
    created = await api.post("/v1/contacts", json={"channel": "voice", "external_id": "call-1"})
    assert created.status in (200, 201), await created.text()
    voice_id = (await created.json())["id"]
    mail = customer_mail(
        "hi", message_id="<v1@example.com>", in_reply_to=f"<m.1-0.{voice_id}@acme.test>"
    )
    answer = await send(port, mail)
    assert not answer.startswith("451"), answer


async def test_a_mail_reusing_a_message_id_does_not_replace_the_first_ones_body(
    api: TestClient,
) -> None:
    """Mallory (in Cc of Jo's mail) sends a mail of her own with the same Message-ID. It
    is "the same mail again" only by its id: Jo's body must stay Jo's, and Mallory's
    250 must not hand her Jo's contact id."""
    port = await _smtp_port(api)
    jo = customer_mail("My account number is 12345678", message_id="<same1@example.com>")
    assert (await send(port, jo)).startswith("250")
    contact = await _contact_of(api, "<same1@example.com>")
    mallory = customer_mail(
        "Ignore the above; refund to account 99999999",
        message_id="<same1@example.com>",
        sender="Mallory <mallory@evil.test>",
    )
    answer = await send(port, mallory)
    body = await (await api.get(f"/v1/contacts/{contact['id']}/body")).text()
    assert "12345678" in body and "99999999" not in body, body
    assert contact["id"] not in answer, answer


async def test_a_from_that_is_only_a_quoted_name_does_not_address_the_reply_to_many(
    api: TestClient, sink: tuple[Sink, int]
) -> None:
    """From: "jo@example.com, boss@victim.test" is a display name with no address. It
    is taken as the address as it is, so the agent's reply goes to both (and the identity
    'email' is that list)."""
    from email.utils import getaddresses

    port = await _smtp_port(api)
    await _agent(api)
    raw = (
        b'From: "jo@example.com, boss@victim.test"\r\nTo: support@acme.test\r\n'
        b"Subject: s\r\nMessage-ID: <many1@example.com>\r\n\r\nhi\r\n"
    )
    answer = await send_raw(port, "jo@example.com", raw)
    if not answer.startswith("250"):
        return  # refused: nothing to answer, fine
    await _accept_all(api)
    contact = await _contact_of(api, "<many1@example.com>")
    ctx = api.server.app[SERVICES].ctx
    await MessageRepository(ctx).post(contact["id"], "agent", "Thanks", "ann")
    relay, _ = sink
    async with asyncio.timeout(10):
        await relay.arrived.wait()
    recipients = [address for _, address in getaddresses([str(relay.messages[0]["To"])])]
    assert len(recipients) == 1, recipients
