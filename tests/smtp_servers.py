"""Real SMTP servers for tests: a relay sink (aiosmtpd) that keeps what it is sent, or
refuses it as a relay would; and sending mail with smtplib from a thread (the engine's
listener runs on the test's own event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, Envelope, Session


class Sink:
    """Keeps every message it takes; `answer` is what it says to the next ones."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.answer = "250 OK"
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            raw = envelope.original_content or b""
            parsed = BytesParser(policy=policy.default).parsebytes(raw)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.arrived.set()
        return self.answer


@contextlib.asynccontextmanager
async def relay_sink() -> AsyncIterator[tuple[Sink, int]]:
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, loop=loop), "127.0.0.1", 0)
    try:
        yield sink, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def send(port: int, mail: EmailMessage) -> str:
    """Send as a customer's mail server would; the listener's answer to the data."""

    def deliver() -> str:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail(str(mail["From"]))
            client.rcpt("support@acme.test")
            code, answer = client.data(mail.as_bytes(policy=mail.policy.clone(linesep="\r\n")))
            return f"{code} {answer.decode()}"

    return await asyncio.to_thread(deliver)


def customer_mail(
    text: str,
    *,
    message_id: str,
    sender: str = "Jo Bloggs <jo@example.com>",
    subject: str = "My bill is wrong",
    in_reply_to: str = "",
    references: str = "",
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@acme.test"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    mail.set_content(text)
    return mail
