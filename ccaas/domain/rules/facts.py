"""The variables CEL conditions see: contact.*, customer.*, queue.*, queues.* and now."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..models import WaitingContact
from .compiled import CompiledRules
from .hours import local_time

CUSTOMER_DEFAULTS: dict[str, Any] = {
    "id": "",
    "name": "",
    "tier": "",
    "language": "",
    "segment": "",
    "lifetime_value": 0.0,
    "consent": {},
    "extras": {},
    "last_agent": "",
}


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Live figures of one queue, as conditions see them."""

    name: str
    waiting: int = 0
    oldest_wait_seconds: float = 0.0
    agents_logged_in: int = 0
    agents_available: int = 0
    ewt_seconds: float = 0.0
    open: bool = True
    ewt_known: bool = True  # False: nobody staffs the queue (rules then see the one-day EWT)

    def as_vars(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "waiting": self.waiting,
            "oldest_wait_seconds": float(self.oldest_wait_seconds),
            "agents_logged_in": self.agents_logged_in,
            "agents_available": self.agents_available,
            "ewt_seconds": float(self.ewt_seconds),
            "open": self.open,
        }


def expected_wait_seconds(
    waiting: int, agents_staffed: int, expected_handle_seconds: float
) -> float:
    """A simple EWT: the queue ahead shared by the staffing agents (those who take work now
    or are finishing some: available or in wrap-up; not away or offline), each taking a
    handle time.

    With nobody staffing the wait is unknown; rules see one day so that 'ewt above x'
    conditions hold.
    """
    if agents_staffed <= 0:
        return 86400.0 if waiting else 0.0
    return round((waiting + 1) / agents_staffed * expected_handle_seconds, 3)


def customer_vars(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    """Known customer fields with defaults; unknown keys go to extras."""
    result = dict(CUSTOMER_DEFAULTS)
    extras: dict[str, Any] = {}
    for key, value in (customer or {}).items():
        if key in result and key != "extras":
            result[key] = value
        else:
            extras[key] = value
    if isinstance((customer or {}).get("extras"), dict):
        extras.update(customer["extras"])  # type: ignore[index]
    result["extras"] = extras
    if isinstance(result["lifetime_value"], int):
        result["lifetime_value"] = float(result["lifetime_value"])
    return result


def now_vars(now_ms: int, rules: CompiledRules) -> dict[str, Any]:
    local = local_time(now_ms, rules.tz)
    return {
        "hour": local.hour,
        "minute": local.minute,
        "weekday": local.isoweekday(),
        "date": local.date().isoformat(),
        "time": f"{local.hour:02d}:{local.minute:02d}",
        "epoch_seconds": now_ms // 1000,
    }


def helpers(rules: CompiledRules, now_ms: int) -> dict[str, Callable[..., Any]]:
    """Functions conditions may call: open("queue") is true while the queue's hours are open."""

    def is_open(queue: str) -> bool:
        return rules.is_open(str(queue), now_ms)

    return {"open": is_open}


def contact_vars(
    *,
    channel: str,
    queue: str,
    skills: Mapping[str, int],
    priority: int,
    tags: list[str],
    attributes: Mapping[str, Any],
    external_id: str,
    rule: str,
    waited_seconds: float = 0.0,
    queue_seconds: float = 0.0,
    repeat: bool = False,
) -> dict[str, Any]:
    return {
        "repeat": repeat,
        "channel": channel,
        "queue": queue,
        "skills": dict(skills),
        "priority": priority,
        "tags": list(tags),
        "attributes": dict(attributes),
        "external_id": external_id,
        "rule": rule,
        "waited_seconds": float(waited_seconds),
        "queue_seconds": float(queue_seconds),
    }


def relaxation_variables(
    contact: WaitingContact,
    facts: Mapping[str, Any],
    stats: Mapping[str, QueueStats],
    eligible_agents: int,
    rules: CompiledRules,
    now_ms: int,
) -> dict[str, Any]:
    """What a relaxation condition sees for one waiting contact at `now_ms`.

    `facts` holds the contact's attributes, customer, tags and external_id; `queue` is its
    own queue's figures plus `eligible_agents`, the logged-in agents who could take it.
    """
    queues = {name: QueueStats(name).as_vars() for name in rules.config.queues}
    queues.update({name: s.as_vars() for name, s in stats.items()})
    own = {**queues.get(contact.queue, QueueStats(contact.queue).as_vars())}
    own["eligible_agents"] = eligible_agents
    return {
        "contact": contact_vars(
            channel=contact.channel.value,
            queue=contact.queue,
            skills=contact.skills,
            priority=contact.priority,
            tags=list(facts.get("tags") or []),
            attributes=facts.get("attributes") or {},
            external_id=str(facts.get("external_id") or ""),
            rule=contact.rule,
            waited_seconds=(now_ms - contact.first_enqueued_ms) / 1000,
            queue_seconds=(now_ms - contact.queue_since_ms) / 1000,
            repeat=bool(facts.get("repeat_of")),
        ),
        "customer": customer_vars(facts.get("customer")),
        "now": now_vars(now_ms, rules),
        "queue": own,
        "queues": queues,
    }
