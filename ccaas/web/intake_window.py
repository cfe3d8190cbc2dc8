"""The HTTP contact intake's in-flight window: a request beyond it is answered 429 at once."""

from __future__ import annotations

import functools

import structlog
from aiohttp import web

from ..domain.admission import AdmissionWindow, RefusalTally
from ..errors import IntakeBusy
from .problems import Handler
from .services import services

log = structlog.get_logger("ccaas.web")
DEFAULT_MAX_IN_FLIGHT = 256


class IntakeGate:
    """One app's window over the intake routes, and the log line that says it refuses."""

    def __init__(self, limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self.window = AdmissionWindow(limit)
        self.tally = RefusalTally()

    def refuse(self, now: float) -> IntakeBusy:
        """The error answering a request that found the window full at `now` (seconds);
        intake_busy is logged at most once a second, with the refusals since the last one."""
        limit = self.window.limit
        if (count := self.tally.refused(now)) is not None:
            log.warning("intake_busy", limit=limit, refused=count)
        return IntakeBusy(
            "this replica is already taking in as many new contacts as it takes at once "
            f"(CCAAS_INTAKE_MAX_IN_FLIGHT={limit}); nothing was changed: send it again after "
            "Retry-After seconds",
            limit=limit,
        )


INTAKE = web.AppKey("intake", IntakeGate)


def intake(handler: Handler) -> Handler:
    """Run `handler` inside the app's intake window: taken before the body is read (a slow
    body holds its place too), given back however the handler ends."""

    @functools.wraps(handler)
    async def admitted(request: web.Request) -> web.StreamResponse:
        gate = request.app[INTAKE]
        if not gate.window.try_acquire():
            raise gate.refuse(services(request).ctx.clock.now_ms() / 1000)
        try:
            return await handler(request)
        finally:
            gate.window.release()

    return admitted
