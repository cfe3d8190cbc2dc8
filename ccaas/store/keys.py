"""The only place Redis key names are built; every key of a tenant shares its {tenant} hash tag."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..domain.models import Channel
from ..errors import NotFound

_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# The member of contacts:changes that marks where it was trimmed (its score is the highest
# sequence removed); no contact id holds a ':', so none is ever taken for it.
CHANGES_TRIMMED = ":trimmed"


# where agents' messages wait for delivery: a channel's adapters, or a native channel that
# delivers them itself (a contact's delivered_by)
NATIVE_ROUTES = ("smtp", "whatsapp", "messenger", "telegram")
OUTBOUND_ROUTES = (*(channel.value for channel in Channel), *NATIVE_ROUTES)


def _id(kind: str, value: str) -> str:
    """An id as part of a key name. ':' separates the parts of a name and '{' '}' mark the
    hash tag, so an id holding one could name another entity's key ("a1:work" is agent
    a1's work). No id ever holds one (none is made so), so there is no such entity."""
    if ":" in value or "{" in value or "}" in value:
        raise NotFound(
            f"no {kind} {value[:80]!r}: no {kind} id contains ':', '{{' or '}}'",
            **{f"{kind}_id": value[:80]},
        )
    return value


@dataclass(frozen=True, slots=True)
class TenantKeys:
    """Key builder for one tenant; all its keys live in one Redis Cluster slot."""

    tenant: str

    def __post_init__(self) -> None:
        if not _TENANT.match(self.tenant):
            raise ValueError(f"tenant {self.tenant!r} must match {_TENANT.pattern}")

    @property
    def prefix(self) -> str:
        return f"ccaas:{{{self.tenant}}}:"

    def contact(self, contact_id: str) -> str:
        """Hash: every field of one contact."""
        return f"{self.prefix}contact:{_id('contact', contact_id)}"

    def contact_body(self, contact_id: str) -> str:
        """String: the contact's long body (chat transcript, email body), kept apart."""
        return f"{self.prefix}contact:{_id('contact', contact_id)}:body"

    def contact_messages(self, contact_id: str) -> str:
        """Stream: the contact's conversation, oldest first (customer, agent and system
        messages; at most MESSAGES_KEPT)."""
        return f"{self.prefix}contact:{_id('contact', contact_id)}:messages"

    def contact_message_marks(self, contact_id: str) -> str:
        """Hash: what is known of the conversation's messages beyond their text:
        "ref:<adapter's message id>" -> our message id (a message sent again is not added
        twice) and "delivery:<message id>" -> JSON of an agent message's delivery state."""
        return f"{self.prefix}contact:{_id('contact', contact_id)}:message-marks"

    def outbound(self, channel: str) -> str:
        """Stream: agents' messages waiting for the channel's adapter to deliver them."""
        return f"{self.prefix}outbound:{channel}"

    @property
    def conversations(self) -> str:
        """Hash: "route:address" -> the contact a native channel (a contact's delivered_by)
        last opened for that customer address (a WhatsApp id): their next message joins it
        while it is open. An erasure removes the customer's."""
        return f"{self.prefix}conversations"

    @property
    def provider_messages(self) -> str:
        """Hash: "route:provider's message id" -> "contact id message id" of an agent's
        message sent through a provider whose statuses name only its own id (Messenger)."""
        return f"{self.prefix}provider-messages"

    @property
    def callbacks(self) -> str:
        """Hash: "queue|number" -> the contact that last became a callback to the number in
        the queue (one active callback per number per queue; an ended contact's entry stays
        until the number asks again, an erasure removes it)."""
        return f"{self.prefix}callbacks"

    @property
    def callbacks_due(self) -> str:
        """Sorted set: contact id -> when (ms) a scheduled callback waits in its queue again."""
        return f"{self.prefix}callbacks:due"

    @property
    def external_ids(self) -> str:
        """Hash: "channel:external_id" -> contact id (idempotent enqueue)."""
        return f"{self.prefix}external-ids"

    def queue_waiting(self, queue: str) -> str:
        """Sorted set: waiting contact ids by order score (lowest first)."""
        return f"{self.prefix}queue:{queue}:waiting"

    def queue_arrivals(self, queue: str) -> str:
        """Sorted set: waiting contact ids by first-enqueued time (for the oldest wait)."""
        return f"{self.prefix}queue:{queue}:arrivals"

    def customer(self, customer_id: str) -> str:
        """Hash: the profile of one customer (typed fields, consent and extras as JSON)."""
        return f"{self.prefix}customer:{_id('customer', customer_id)}"

    def customer_identities(self, customer_id: str) -> str:
        """Set: the customer's identities as "kind:value"."""
        return f"{self.prefix}customer:{_id('customer', customer_id)}:identities"

    def customer_timeline(self, customer_id: str) -> str:
        """Sorted set: the customer's contact ids by arrival time (ms)."""
        return f"{self.prefix}customer:{_id('customer', customer_id)}:timeline"

    def customer_agents(self, customer_id: str) -> str:
        """Set: the agents who accepted a contact of this customer (they may read its context)."""
        return f"{self.prefix}customer:{_id('customer', customer_id)}:agents"

    @property
    def identities(self) -> str:
        """Hash: "kind:value" -> customer id (the identity index)."""
        return f"{self.prefix}identities"

    def agent(self, agent_id: str) -> str:
        """Hash: profile, presence and counters of one agent."""
        return f"{self.prefix}agent:{_id('agent', agent_id)}"

    def agent_work(self, agent_id: str) -> str:
        """Hash: contact id -> "state:channel" for each contact the agent holds."""
        return f"{self.prefix}agent:{_id('agent', agent_id)}:work"

    def agent_credentials(self, agent_id: str) -> str:
        """Hash: the agent's password (an argon2id hash) and when it was set, apart from
        the agent hash so that no read of the agent carries it."""
        return f"{self.prefix}agent:{_id('agent', agent_id)}:credentials"

    def attempts(self, kind: str, who: str) -> str:
        """Counter: attempts of one kind (failed sign-ins of an agent id or an address, web
        chats started from an address or a browser) in the current window; `who` is
        hashed, so no address or mistyped id is kept in a key's name."""
        digest = hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.prefix}{kind}:{digest}"

    @property
    def agents(self) -> str:
        """Set: every known agent id."""
        return f"{self.prefix}agents"

    @property
    def agent_sessions(self) -> str:
        """Hash: agent id -> its console session id (one at a time: a new one replaces it)."""
        return f"{self.prefix}agents:sessions"

    @property
    def session_deadlines(self) -> str:
        """Sorted set: agent id -> when (ms) its session counts as gone and the agent goes
        offline: pushed on while its console is connected, due a grace after it closed."""
        return f"{self.prefix}agents:session-deadlines"

    @property
    def sessions_channel(self) -> str:
        """Pub/sub channel: a console session was replaced ("agent id<TAB>old session id")."""
        return f"{self.prefix}sessions"

    @property
    def agents_available(self) -> str:
        """Set: agent ids whose presence is available."""
        return f"{self.prefix}agents:available"

    @property
    def agent_changes(self) -> str:
        """Sorted set: agent id -> sequence number of its latest change (tenant-wide counter)."""
        return f"{self.prefix}agents:changes"

    @property
    def offer_deadlines(self) -> str:
        """Sorted set: offer id -> time (ms) the offer rings out."""
        return f"{self.prefix}offers:deadlines"

    @property
    def wrap_up_deadlines(self) -> str:
        """Sorted set: contact id -> time (ms) its wrap-up ends."""
        return f"{self.prefix}wrap-up:deadlines"

    @property
    def events(self) -> str:
        """Stream: every contact and agent transition, in order."""
        return f"{self.prefix}events"

    @property
    def contact_changes(self) -> str:
        """Sorted set: contact id -> sequence of its latest change as routers see it (it
        starts or stops waiting, is relaxed or rejected)."""
        return f"{self.prefix}contacts:changes"

    @property
    def changed_entity_patterns(self) -> tuple[str, str, str]:
        """The agent hash, agent work hash and contact hash names with "%s" for the id, for
        read_changes.lua, which reads the entities the changes zsets list."""
        return (self.agent("%s"), self.agent_work("%s"), self.contact("%s"))

    @property
    def rules_active(self) -> str:
        """String: the version number of the rules in force (absent: the built-in file only)."""
        return f"{self.prefix}rules:active"

    @property
    def rules_seq(self) -> str:
        """String: the last version number handed out."""
        return f"{self.prefix}rules:seq"

    @property
    def rules_texts(self) -> str:
        """Hash: version -> the YAML text of that version."""
        return f"{self.prefix}rules:texts"

    @property
    def rules_meta(self) -> str:
        """Hash: version -> JSON {created_at, source, checksum, note}."""
        return f"{self.prefix}rules:meta"

    @property
    def rules_file(self) -> str:
        """String: checksum of the rules file text last accepted (published or already in force)."""
        return f"{self.prefix}rules:file"

    @property
    def rules_last_rejected(self) -> str:
        """String: JSON {at, source, file, errors, version_in_force, based_on, yaml} of the
        last rules file save that was refused."""
        return f"{self.prefix}rules:last-rejected"

    @property
    def rules_channel(self) -> str:
        """Pub/sub channel: a new rules version is in force (the message is its number)."""
        return f"{self.prefix}rules"

    @property
    def wake_channel(self) -> str:
        """Pub/sub channel: a router should look for new matches."""
        return f"{self.prefix}wake"

    @property
    def epoch(self) -> str:
        """String: a random token written when the tenant's data was first set up; a Redis
        that lost it (restarted empty, failed over to a replica without the data) is reset."""
        return f"{self.prefix}epoch"

    @property
    def write_probe(self) -> str:
        """Never written: deleting it is the watcher's proof that Redis takes writes."""
        return f"{self.prefix}write-probe"

    @property
    def erasures_pending(self) -> str:
        """Counter: customers erased since the persistence files were last rewritten."""
        return f"{self.prefix}erasures:pending"

    @property
    def wake_pending(self) -> str:
        """String flag: a wake was already published and no round has started since."""
        return f"{self.prefix}wake:pending"


_OFFER_ID = re.compile(r"([^.:{}]+)\.[0-9]{1,9}(?:\.[0-9a-f]{1,16})?")


def contact_of_offer(offer: str) -> str:
    """An offer id is "{contact id}.{attempt}.{token}" (made by claim.lua; ids made before the
    token was added lack it): it needs no key of its own."""
    match = _OFFER_ID.fullmatch(offer)
    if match is None:
        raise ValueError(f"malformed offer id {offer!r}")
    return match.group(1)
