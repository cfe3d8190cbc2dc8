"""The desk service: agents' views in a bounded number of round trips, presence with its
follow-ups (ringing offers withdrawn, wrap-ups ended) and accepting an offer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from ..domain.models import ContactState, Presence
from ..errors import Conflict, InvalidInput, NotFound
from ..store.agents import AgentRepository
from ..store.contacts import ContactRepository
from ..store.context import StoreContext
from ..store.customers import CustomerRepository
from ..store.offers import OfferRepository
from ..store.records.agent import AgentRecord
from ..store.records.contact import ContactRecord

log = structlog.get_logger("ccaas.desk")
HISTORY = 5  # earlier contacts of the customer shown with each offer
_WORK_FIELDS = ("agent_id", "state", "offer_id", "offer_expires_at", "customer_id", "attributes")


class Desk:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.agents = AgentRepository(ctx)
        self.contacts = ContactRepository(ctx)
        self.customers = CustomerRepository(ctx)
        self.offers = OfferRepository(ctx)

    async def view(self, agent_id: str) -> dict[str, Any]:
        """The agent with its work: offers ringing, contacts held, and each one's customer."""
        found = await self.views([agent_id])
        if not found:
            raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
        return found[0]

    async def page(self, limit: int, after: str = "") -> tuple[list[dict[str, Any]], str | None]:
        """Agents by id after `after`, `limit` of them; the id to continue from, if more."""
        ids = [agent_id for agent_id in await self.agents.ids() if agent_id > after]
        shown = ids[:limit]
        return await self.views(shown), shown[-1] if len(ids) > limit else None

    async def views(self, agent_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The views of the agents that exist among `agent_ids`, in that order."""
        rows = await self.agents.read_many(agent_ids)
        rules = self.ctx.rules
        records = [AgentRecord.decode(raw, work).api(rules) for raw, work in rows if raw]
        items = [(record, item) for record in records for item in record["work"]]
        details = await self.contacts.fields_of([i["contact_id"] for _, i in items], _WORK_FIELDS)
        for record in records:
            record["work"] = []  # filled again with what the contacts confirm
        for (record, item), row in zip(items, details, strict=True):
            contact = ContactRecord.decode(dict(zip(_WORK_FIELDS, row, strict=True)))
            if contact.agent_id != record["id"] or contact.state is None:
                continue  # it left this agent between the two reads (rang out, withdrawn)
            record["work"].append(item)
            item["state"] = contact.state.value  # the contact's own state, read with its offer
            if contact.state is ContactState.OFFERED:
                item["offer_id"] = contact.offer_id
                item["offer_expires_at"] = contact.offer_expires_at
            item["attributes"] = contact.attributes
            if contact.customer_id:
                item["customer"] = contact.customer_id
        shown = [item for record in records for item in record["work"]]
        contexts = await self.customer_contexts({i["customer"] for i in shown if "customer" in i})
        for item in shown:
            context = contexts.get(item.get("customer", ""))
            if context is not None and "history" in context:
                others = [h for h in context["history"] if h["contact_id"] != item["contact_id"]]
                context = {**context, "history": others[:HISTORY]}
            if context is not None:
                item["customer"] = context
        return records

    async def customer_contexts(self, customer_ids: set[str]) -> dict[str, dict[str, Any]]:
        """Who each customer is and their latest contacts; an erased one is only its id."""
        found = await self.customers.get_many(sorted(customer_ids))
        live = {asked: record for asked, record in found.items() if isinstance(record, dict)}
        current = sorted({record["id"] for record in live.values()})
        histories = await self.customers.histories(current, HISTORY + 1)
        result: dict[str, dict[str, Any]] = {asked: {"id": asked} for asked in customer_ids}
        for asked, record in live.items():
            result[asked] = {**record, "history": histories[record["id"]]}
        return result

    async def choose_presence(self, agent_id: str, presence: Presence, reason: str = "") -> str:
        """The presence an agent (or a supervisor for it) chooses: away takes one of the
        rules' away_reasons (or none); the others take no reason. Returns the one before."""
        self._check_reason(presence, reason)
        return await self.set_presence(agent_id, presence, reason)

    async def choose_next_presence(
        self, agent_id: str, presence: Presence | None, reason: str = ""
    ) -> str:
        """The presence the agent takes when its work ends (None takes the choice back):
        "later", or "now" when it holds no work (then it is set at once), or "cleared".
        Meanwhile its ringing offers are withdrawn and it is offered nothing new."""
        if presence is not None and presence not in (Presence.AWAY, Presence.OFFLINE):
            raise InvalidInput("next_presence is away or offline (or null)", field="presence")
        if presence is not None:
            self._check_reason(presence, reason)
        when = await self.agents.set_next_presence(
            agent_id, presence.value if presence else "", reason
        )
        if when == "now" and presence is not None:
            await self.set_presence(agent_id, presence, reason)
        elif when == "later":
            for contact_id in await self.agents.ringing(agent_id):
                await self.offers.withdraw_for(contact_id, agent_id)
        return when

    def _check_reason(self, presence: Presence, reason: str) -> None:
        reasons = self.ctx.config.away_reasons
        if presence is Presence.AWAY and reason and reason not in reasons:
            raise InvalidInput(
                f"reason {reason[:40]!r} is not an away reason; one of: {', '.join(reasons)}",
                field="reason",
            )
        if presence is not Presence.AWAY and reason:
            raise InvalidInput(f"only away takes a reason, not {presence.value}", field="reason")

    async def set_presence(self, agent_id: str, presence: Presence, reason: str = "") -> str:
        """Set what the agent says it is; returns the presence before.

        An agent no longer available has its ringing offers withdrawn (the contacts keep
        their places); one who is available again ends its wrap-ups.
        """
        if presence is Presence.WRAP_UP:
            raise InvalidInput("wrap_up is set by the system, not by the agent", field="presence")
        changed = await self.agents.set_presence(agent_id, presence, reason)
        if presence is not Presence.AVAILABLE:
            for contact_id in changed.ringing:
                await self.offers.withdraw_for(contact_id, agent_id)
        else:
            for contact_id in changed.wrapping:
                await self.contacts.end_wrap_up(contact_id, only_if_due=False)
        return changed.before

    async def end_wrap_up(self, contact_id: str, agent_id: str) -> bool:
        """The agent is done wrapping up a contact before its time: it is completed, and the
        agent takes the presence it chose for then (else available). Conflict if the contact
        is not in this agent's wrap-up."""
        raw = await self.contacts.raw(contact_id)
        if raw.get("agent_id") != agent_id or raw.get("state") != ContactState.WRAP_UP.value:
            raise Conflict(
                f"contact {contact_id!r} is not in agent {agent_id!r}'s wrap-up",
                contact_id=contact_id,
                reason="not_in_wrap_up",
            )
        return await self.contacts.end_wrap_up(contact_id, only_if_due=False)

    async def accept(self, offer_id: str, agent_id: str) -> str:
        """`agent_id` takes the offer ringing for it; it becomes the customer's last agent.
        The contact id."""
        contact_id, raw = await self.offers.pending(offer_id)
        customer_id = ""
        if raw.get("customer_id"):
            try:  # merged customers are followed; an erased one gets no last agent
                customer_id = await self.customers.current_id(raw["customer_id"])
            except NotFound:
                customer_id = ""
        await self.offers.accept(offer_id, agent_id, contact_id, customer_id)
        log.info(
            "offer_accepted",
            contact_id=contact_id,
            agent_id=agent_id,
            queue=raw.get("queue", ""),
            offer_id=offer_id,
        )
        return contact_id
