"""The app runner whose HTTP parser refusals are problem+json like every other error.

aiohttp answers a request it cannot parse (a request line or a header longer than 8190 bytes,
a malformed request) before any middleware runs, with text/plain. The request handler made
here answers the same status as RFC 9457's about:blank problem instead.
"""

from __future__ import annotations

from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from ..errors import CcaasError
from .problems import about_blank, problem

log = structlog.get_logger("ccaas.web")
MAX_LINE = 8190  # aiohttp's limit on the request line and on each header line


class _ProblemRequestHandler(RequestHandler):
    """aiohttp's request handler, answering what it cannot serve as problem+json."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer is on its way already
            raise ConnectionError("the answer is sent already; cannot send the error")
        if status == 500:  # a failure outside every middleware
            log.error("request_failed", exc_info=exc)
            answer = problem(CcaasError, "the server failed; the error is logged")
        else:
            answer = about_blank(status, _detail(status, exc, message))
            error = type(exc).__name__ if exc is not None else None
            log.info("request_not_served", status=status, error=error)
        answer.force_close()  # as aiohttp does: what follows on the connection is unknown
        return answer


def _detail(status: int, exc: BaseException | None, message: str | None) -> str:
    if isinstance(exc, LineTooLong):
        return (
            f"the request line (method, path and query) or a header is longer than {MAX_LINE} bytes"
        )
    if isinstance(exc, HttpProcessingError) and exc.message:
        return f"the request cannot be parsed: {exc.message[:200]}"
    return (message or HTTPStatus(status).description)[:200]


class _ProblemServer(Server):
    def __call__(self) -> RequestHandler:
        return _ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ProblemAppRunner(web.AppRunner):
    """web.AppRunner, with parser refusals answered as problem+json."""

    async def _make_server(self) -> Server:
        made = await super()._make_server()  # starts the app
        # the server aiohttp set up, as it is, only making our request handlers
        made.__class__ = _ProblemServer
        return made
