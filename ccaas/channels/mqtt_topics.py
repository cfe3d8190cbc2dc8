"""The MQTT topics of a tenant (versioned, tenant in the path) and what an inbound one is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

VERSION = "v1"


class Inbound(StrEnum):
    """What the bridge reads: adapters publish these."""

    CONTACTS = "in/contacts"
    MESSAGES = "in/messages"
    RECEIPTS = "receipts"


@dataclass(frozen=True, slots=True)
class Topics:
    tenant: str

    @property
    def root(self) -> str:
        return f"ccaas/{VERSION}/{self.tenant}"

    def inbound(self, kind: Inbound) -> str:
        return f"{self.root}/{kind.value}"

    def subscription(self, kind: Inbound, shared_group: str = "") -> str:
        """The filter the bridge subscribes with: shared among the replicas of a group
        (each message goes to one of them) when the group is named."""
        topic = self.inbound(kind)
        return f"$share/{shared_group}/{topic}" if shared_group else topic

    def kind_of(self, topic: str) -> Inbound | None:
        """Which inbound topic `topic` is (None: none of this tenant's)."""
        for kind in Inbound:
            if topic == self.inbound(kind):
                return kind
        return None

    def outbound_messages(self, channel: str) -> str:
        """Agents' messages for the adapters of `channel` to deliver."""
        return f"{self.root}/out/{channel}/messages"

    def contact_events(self, contact_id: str) -> str:
        """A contact's state changes, position and wait estimate (`+` for every contact's)."""
        return f"{self.root}/contacts/{contact_id}/events"

    def errors(self, adapter: str) -> str:
        """What the bridge refused of `adapter`'s messages, as problem objects."""
        return f"{self.root}/errors/{adapter}"
