"""The order of waiting contacts: priority with aging, as one static score (lower goes first)."""

from __future__ import annotations

from .models import WaitingContact


def order_score(priority: int, first_enqueued_ms: int, aging_seconds_per_priority: float) -> float:
    """Score of a waiting contact; the smallest score is offered first.

    One priority point is worth `aging_seconds_per_priority` seconds of waiting, so a
    contact of priority p that arrived at t ranks like a priority-0 contact that arrived
    p * aging seconds earlier. Any contact overtakes every later arrival once it has waited
    long enough, so low priorities are never starved, and the score never needs rewriting.
    """
    return first_enqueued_ms - priority * aging_seconds_per_priority * 1000.0


def order_key(contact: WaitingContact) -> tuple[float, str]:
    """Total order used everywhere, the same as a Redis sorted set's (score, then member)."""
    return (contact.score, contact.id)
