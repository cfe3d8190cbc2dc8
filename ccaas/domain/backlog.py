"""The backlog: waiting contacts kept grouped between rounds, each group in queue order.

A group is every waiting contact with the same queue, channel and required skill levels
(the same agents can take them, ranked the same way). A group holds its contacts in a heap
by order_key; a contact that changes or leaves is only marked gone, and its stale heap
entry is dropped when it reaches the top, so adding, changing and removing a contact cost
O(log n) and a round reads only the heads of its groups.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from .models import Channel, WaitingContact

GroupKey = tuple[str, Channel, frozenset[tuple[str, int]]]
_Entry = tuple[float, str, int]  # (score, contact id, version): order_key, then the version


def group_key(contact: WaitingContact) -> GroupKey:
    return (contact.queue, contact.channel, frozenset(contact.skills.items()))


class ContactGroup:
    """The waiting contacts of one group, best (smallest order_key) first."""

    __slots__ = ("_heap", "_live")

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._live: dict[str, tuple[int, WaitingContact]] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[WaitingContact]:
        return (contact for _, contact in self._live.values())

    def add(self, contact: WaitingContact, version: int) -> None:
        self._live[contact.id] = (version, contact)
        heapq.heappush(self._heap, (contact.score, contact.id, version))

    def remove(self, contact_id: str) -> None:
        self._live.pop(contact_id, None)
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._live):
            # mostly stale entries: rebuild, so memory stays proportional to the contacts
            self._heap = [e for e in self._heap if self._is_current(e)]
            heapq.heapify(self._heap)

    def _is_current(self, entry: _Entry) -> bool:
        live = self._live.get(entry[1])
        return live is not None and live[0] == entry[2]

    def head(self) -> WaitingContact | None:
        """The best contact, without taking it."""
        heap = self._heap
        while heap and not self._is_current(heap[0]):
            heapq.heappop(heap)
        return self._live[heap[0][1]][1] if heap else None

    def pop(self) -> _Entry:
        """Take the best contact's entry off the heap (it stays in the group): a round walks
        a group this way and puts back with `restore` what it did not offer."""
        self.head()
        return heapq.heappop(self._heap)

    def restore(self, entry: _Entry) -> None:
        if self._is_current(entry):
            heapq.heappush(self._heap, entry)

    def contact(self, entry: _Entry) -> WaitingContact:
        return self._live[entry[1]][1]


class Backlog:
    """Every waiting contact the router knows, by group."""

    def __init__(self) -> None:
        self.groups: dict[GroupKey, ContactGroup] = {}
        self._where: dict[str, GroupKey] = {}
        self._version = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._where

    def __iter__(self) -> Iterator[WaitingContact]:
        for group in self.groups.values():
            yield from group

    def put(self, contact: WaitingContact) -> None:
        """Add the contact, or replace what was known of it."""
        self.discard(contact.id)
        key = group_key(contact)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = ContactGroup()
        self._version += 1
        group.add(contact, self._version)
        self._where[contact.id] = key

    def discard(self, contact_id: str) -> None:
        key = self._where.pop(contact_id, None)
        if key is None:
            return
        group = self.groups[key]
        group.remove(contact_id)
        if not group:
            del self.groups[key]
