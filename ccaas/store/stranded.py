"""Counts the contacts a rules change would strand: in a removed queue or a removed channel."""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.models import ContactState
from ..domain.rules.compiled import CompiledRules
from .context import StoreContext
from .keys import contact_of_offer

# (queue, None): the whole queue goes; (queue, channel): the queue stops taking that channel
Loss = tuple[str, str | None]


def stranded_channels(before: CompiledRules, after: CompiledRules) -> list[Loss]:
    """What `after` takes away from `before` that waiting contacts may still need."""
    lost: list[Loss] = []
    for name, queue in before.config.queues.items():
        kept = after.config.queues.get(name)
        if kept is None:
            lost.append((name, None))
            continue
        lost += [(name, ch.value) for ch in queue.channels if ch not in kept.channels]
    return lost


class StrandedCounter:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    async def count(self, lost: list[Loss]) -> Mapping[Loss, int]:
        """Waiting and ringing contacts each loss would strand."""
        redis, keys = self.ctx.redis, self.ctx.keys
        queues = sorted({queue for queue, _ in lost})
        async with redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zrange(keys.queue_waiting(queue), 0, -1)
            pipe.zrange(keys.offer_deadlines, 0, -1)
            *waiting, ringing = await pipe.execute()
        contact_ids = [cid for members in waiting for cid in members]
        contact_ids += [contact_of_offer(offer) for offer in ringing]
        async with redis.pipeline(transaction=False) as pipe:
            for contact_id in contact_ids:
                pipe.hmget(keys.contact(contact_id), "queue", "channel", "state")
            rows = await pipe.execute()
        counts = dict.fromkeys(lost, 0)
        for queue, channel, state in rows:
            if state not in (ContactState.QUEUED, ContactState.OFFERED):
                continue
            for loss in ((queue, None), (queue, channel)):
                if loss in counts:
                    counts[loss] += 1
        return counts
