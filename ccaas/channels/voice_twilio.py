"""Voice through Twilio's webhooks: a call arrives (a contact), waits hearing its place and
wait, may press 1 for a callback, is put through to the agent who accepted it, and its
status callback abandons it when the caller hangs up. Every request must carry Twilio's
signature over the public URL it was sent to (CCAAS_PUBLIC_URL) with the account's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web

from ..desk.service import Desk
from ..desk.transfers import Transfers
from ..domain.identity import InvalidIdentity, normalise_phone
from ..domain.intake import NewContact
from ..domain.models import Channel, ContactState
from ..errors import (
    Conflict,
    ContactRejected,
    InvalidInput,
    NotConfigured,
    NotFound,
    Unauthorized,
)
from ..ingest.service import Ingest
from ..store.agents import AgentRepository
from ..store.callbacks import CallbackRepository
from ..store.contacts import ContactRepository
from ..store.queues import QueueRepository
from . import twiml
from .twilio_signature import signed_by_twilio
from .webhooks import BoundChannel, Webhook

log = structlog.get_logger("ccaas.voice")
BASE = "/v1/channels/voice/twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
# what Twilio sends as From for a caller who withheld their number (and the words for it)
WITHHELD = frozenset(
    {"", "anonymous", "restricted", "unknown", "unavailable", "blocked", "private",
     "+266696687", "+7378742833", "+2562533", "+8656696"}
)  # fmt: skip
ENDED_CALL = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})
ANNOUNCE_EVERY_SECONDS = 30  # the place is said on the first wait and about this often
WAIT_PAUSE_SECONDS = 3  # short: once the agent accepts, the next wait answer puts it through
MAX_SID = 64


class TwilioVoice(BoundChannel):
    name = "voice"

    def __init__(self, auth_token: str, public_url: str) -> None:
        """`public_url`: the engine's address as Twilio reaches it (https://cc.example.com);
        the signatures are over it."""
        super().__init__()
        self.auth_token, self.public_url = auth_token, public_url.rstrip("/")

    def webhooks(self) -> list[Webhook]:
        twiml_ok = {200: "TwiML for the call"}
        bad_sid = {422: "no CallSid (or one longer than 64 characters)"}
        no_contact = {404: "the contact the URL names (?contact=) does not exist"}

        def hook(name: str, handler: Any, summary: str, **kw: Any) -> Webhook:
            return Webhook("POST", f"{BASE}/{name}", handler, f"Twilio: {summary}", **kw)

        return [
            hook("incoming", self.incoming, "a call arrives", ok=twiml_ok, errors=bad_sid),
            hook("wait", self.wait, "what a waiting caller hears", ok=twiml_ok, errors=no_contact),
            hook("gather", self.gather, "a caller pressed a key", ok=twiml_ok, errors=no_contact),
            hook(
                "dequeued", self.dequeued, "a caller left the queue", ok=twiml_ok, errors=no_contact
            ),
            hook("dialled", self.dialled, "the agent's leg ended", ok=twiml_ok),
            hook(
                "status",
                self.status,
                "the call's status changed",
                ok={204: "noted"},
                errors=bad_sid,
            ),
        ]

    # --- webhooks ---------------------------------------------------------------------------
    async def incoming(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        sid = _sid(params)
        caller = params.get("From", "").strip()
        withheld = caller.lower() in WITHHELD
        contact = NewContact(
            channel=Channel.VOICE,
            external_id=sid,
            queue=request.query.get("queue", ""),
            customer=None if withheld else {"phone": caller},
            attributes={
                "caller_id": "withheld" if withheld else caller[:40],
                "dialled": params.get("To", "")[:40],
                **({"caller_name": params["CallerName"][:100]} if params.get("CallerName") else {}),
            },
        )
        try:
            result = await Ingest(self.ctx).enqueue(contact)
        except ContactRejected as exc:
            log.info("call_refused", call_sid=sid, reason=exc.fields.get("reason"))
            return _twiml(
                twiml.say("Sorry, we cannot take your call now. Please call again later."),
                twiml.HANGUP,
            )
        except (Conflict, InvalidInput) as exc:
            log.warning("call_not_queued", call_sid=sid, problem=exc.detail)
            return _twiml(
                twiml.say("Sorry, something went wrong. Please call again."), twiml.HANGUP
            )
        if result.created:
            log.info("call_queued", contact_id=result.contact_id, call_sid=sid)
        queue = (await ContactRepository(self.ctx).raw(result.contact_id)).get("queue", "")
        return _twiml(
            twiml.enqueue(
                f"ccaas-{queue}"[:64],
                self._url("wait", result.contact_id),
                self._url("dequeued", result.contact_id),
            )
        )

    async def wait(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        contact_id = request.query.get("contact", "")
        raw = await self._contact(contact_id)
        state = raw.get("state", "")
        if raw.get("callback_number"):
            return _twiml(twiml.HANGUP)  # the customer asked to be called back
        if state in (ContactState.CONNECTED, ContactState.WRAP_UP):
            return _twiml(twiml.LEAVE)  # the agent accepted: dequeued puts the call through
        if state == ContactState.OFFERED:
            return _twiml(twiml.pause(1))
        if state != ContactState.QUEUED:
            return _twiml(twiml.HANGUP)
        waited = _int(params.get("QueueTime"))
        if waited % ANNOUNCE_EVERY_SECONDS >= WAIT_PAUSE_SECONDS + 2:
            return _twiml(twiml.pause(WAIT_PAUSE_SECONDS))
        place = (await QueueRepository(self.ctx).positions()).get(contact_id)
        words = twiml.place_words(place.position, place.ewt_seconds) if place else ""
        offer = " To be called back instead, keeping your place, press 1."
        return _twiml(
            twiml.gather(self._url("gather", contact_id), twiml.say(words + offer)),
            twiml.pause(WAIT_PAUSE_SECONDS),
        )

    async def gather(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        contact_id = request.query.get("contact", "")
        await self._contact(contact_id)
        if params.get("Digits") != twiml.CALLBACK_DIGIT:
            return _twiml()
        region = self.ctx.config.phone_region
        try:
            number = normalise_phone(params.get("From", ""), region)
        except InvalidIdentity:
            return _twiml(twiml.say("Sorry, we cannot call back a withheld number. Please hold."))
        try:
            callback = await CallbackRepository(self.ctx).request(contact_id, number)
        except Conflict:
            return _twiml()  # it rings for an agent already: keep holding
        log.info(
            "callback_requested",
            contact_id=callback.contact_id,
            call_contact_id=contact_id,
            created=callback.created,
        )
        return _twiml(
            twiml.say(
                "Thank you. We will call you back on the number you are calling from, and you "
                "keep your place in the queue. Goodbye."
            ),
            twiml.HANGUP,
        )

    async def dequeued(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        contact_id = request.query.get("contact", "")
        raw = await self._contact(contact_id)
        if params.get("QueueResult") != "leave" or raw.get("state") not in (
            ContactState.CONNECTED,
            ContactState.WRAP_UP,
        ):
            return _twiml(twiml.HANGUP)
        agent_id = raw.get("agent_id", "")
        views = await AgentRepository(self.ctx).read_many([agent_id])
        endpoint = views[0][0].get("voice_endpoint", "") if views else ""
        if not endpoint:
            log.error("agent_has_no_voice_endpoint", contact_id=contact_id, agent_id=agent_id)
            return _twiml(
                twiml.say("Sorry, we cannot put you through right now. We will call you back."),
                twiml.HANGUP,
            )
        log.info("call_put_through", contact_id=contact_id, agent_id=agent_id)
        return _twiml(twiml.dial(endpoint, self._url("dialled", contact_id)))

    async def dialled(self, request: web.Request) -> web.Response:
        """The leg to the agent ended. Answered and done: hang up. Not answered (no answer,
        busy, failed): the call waits again, in its place, for the next agent."""
        params = await self._verified(request)
        if params.get("DialCallStatus", "completed") in ("completed", "answered", ""):
            return _twiml(twiml.HANGUP)
        contact_id = request.query.get("contact", "")
        raw = await self._contact(contact_id)
        agent_id = raw.get("agent_id", "")
        if raw.get("state") != ContactState.CONNECTED or not agent_id:
            return _twiml(twiml.HANGUP)
        status = params["DialCallStatus"][:20]
        queue = await Transfers(Desk(self.ctx)).transfer(
            contact_id,
            agent_id,
            raw.get("queue", ""),
            note=f"the agent's phone did not answer ({status})",
        )
        log.warning(
            "agent_phone_not_answered",
            contact_id=contact_id,
            agent_id=agent_id,
            status=params["DialCallStatus"],
        )
        sorry = twiml.say("Sorry, that agent could not take your call. Please hold.")
        wait, dequeued = self._url("wait", contact_id), self._url("dequeued", contact_id)
        return _twiml(sorry, twiml.enqueue(f"ccaas-{queue}"[:64], wait, dequeued))

    async def status(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        if params.get("CallStatus", "") not in ENDED_CALL:
            return web.Response(status=204)
        contacts = ContactRepository(self.ctx)
        contact_id = await contacts.find(Channel.VOICE.value, _sid(params))
        if contact_id is None:
            return web.Response(status=204)
        raw = await contacts.raw(contact_id)
        if raw.get("callback_number") or raw.get("state") in ("completed", "abandoned"):
            return web.Response(status=204)  # a callback's customer left the line on purpose
        try:
            was = await contacts.abandon(contact_id)
        except Conflict:
            return web.Response(status=204)  # it ended meanwhile
        log.info("call_ended_by_caller", contact_id=contact_id, was=was)
        return web.Response(status=204)

    # --- helpers ----------------------------------------------------------------------------
    async def _verified(self, request: web.Request) -> dict[str, str]:
        """The form's parameters, once the request is proven to come from Twilio (before
        anything is read from Redis or changed): Unauthorized otherwise."""
        if not self.auth_token or not self.public_url:
            raise NotConfigured("Twilio voice is not configured: set CCAAS_TWILIO_AUTH_TOKEN")
        form = await request.post()
        pairs = [(name, str(value)) for name, value in form.items()]
        url = self.public_url + request.path_qs
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not signed_by_twilio(self.auth_token, url, pairs, given):
            raise Unauthorized(
                f"the {SIGNATURE_HEADER} header does not sign this request (is CCAAS_PUBLIC_URL "
                "the address Twilio calls?)",
                reason="bad_signature",
            )
        return dict(pairs)

    async def _contact(self, contact_id: str) -> dict[str, str]:
        if not contact_id:
            raise NotFound("no contact named (?contact=)", field="contact")
        return await ContactRepository(self.ctx).raw(contact_id)

    def _url(self, name: str, contact_id: str) -> str:
        return f"{self.public_url}{BASE}/{name}?{urlencode({'contact': contact_id})}"


def _sid(params: dict[str, str]) -> str:
    sid = params.get("CallSid", "")
    if not sid or len(sid) > MAX_SID:
        raise InvalidInput("CallSid is required (at most 64 characters)", field="CallSid")
    return sid


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _twiml(*verbs: str) -> web.Response:
    return web.Response(text=twiml.document(*verbs), content_type="text/xml")
