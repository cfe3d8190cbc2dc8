"""A new contact as it enters routing, and the checks it must pass against the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from .models import Channel
from .rules.schema import RoutingConfig
from .values import MAX_LEVEL, MAX_PRIORITY, MIN_LEVEL, MIN_PRIORITY, did_you_mean


@dataclass(frozen=True, slots=True)
class NewContact:
    channel: Channel
    external_id: str
    queue: str = ""  # empty: the classification rules choose
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    customer: dict[str, Any] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    repeat_of: str = ""  # the customer's earlier contact within the repeat window, if any
    # a native channel that answers the customer itself: its outbound route (the agents'
    # messages wait in outbound:<route>, not outbound:<channel>) and the address it replies to
    delivered_by: str = ""
    reply_to: str = ""
    # the provider lets agents answer only this long after the customer last wrote (0: any
    # time): WhatsApp's and Messenger's 24-hour window
    reply_window_seconds: int = 0


def check_new_contact(contact: NewContact, config: RoutingConfig) -> None:
    """Raise InvalidInput naming the field when the contact cannot be routed as given."""
    if not contact.queue and not config.classification:
        raise InvalidInput("queue is required: the routing rules classify nothing", field="queue")
    for skill in contact.skills:
        if config.skills is not None and skill not in config.skills:
            hint = did_you_mean(skill, config.skills)
            raise InvalidInput(f"unknown skill {skill!r}{hint}", field=f"skills.{skill}")
    queue = config.queues.get(contact.queue)
    if contact.queue and queue is None:
        known = ", ".join(sorted(config.queues))
        raise InvalidInput(f"unknown queue {contact.queue!r}; known: {known}", field="queue")
    if queue is not None and contact.channel not in queue.channels:
        allowed = ", ".join(queue.channels)
        raise InvalidInput(
            f"queue {contact.queue!r} takes {allowed}, not {contact.channel.value}",
            field="channel",
        )
    for skill, level in contact.skills.items():
        if not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InvalidInput(
                f"skill {skill!r} level {level} is outside {MIN_LEVEL}..{MAX_LEVEL}",
                field=f"skills.{skill}",
            )
    if not MIN_PRIORITY <= contact.priority <= MAX_PRIORITY:
        raise InvalidInput(
            f"priority {contact.priority} is outside {MIN_PRIORITY}..{MAX_PRIORITY}",
            field="priority",
        )
