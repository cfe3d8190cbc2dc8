"""Email as the engine reads and writes it: the parts of an inbound message that route it
(who, what thread, what it says) and an agent's reply that threads in the customer's mail
client (our Message-ID, In-Reply-To and References)."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, getaddresses, parseaddr

MAX_ID = 200  # an external id (and a message id kept) is at most this long
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACE = re.compile(r"[ \t]+")
_ADDRESS = re.compile(r"[^@\s,;<>\"()\[\]]{1,64}@[^@\s,;<>\"()\[\]]{1,190}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_OURS = re.compile(r"^<m\.([0-9]{1,20}-[0-9]{1,20})\.([A-Za-z0-9_.-]{1,100})@([^>]{1,200})>$")


@dataclass(frozen=True, slots=True)
class InboundEmail:
    sender: str  # the address it came from
    name: str  # the sender's display name ("" none)
    subject: str
    message_id: str  # "<...>"; made from the content when the sender gave none
    in_reply_to: str
    references: tuple[str, ...]
    text: str

    @property
    def thread_ids(self) -> list[str]:
        """What it answers, nearest first: In-Reply-To, then References from the newest."""
        seen = [self.in_reply_to, *reversed(self.references)]
        return [ref for i, ref in enumerate(seen) if ref and ref not in seen[:i]]


class UnreadableEmail(ValueError):
    """The message has no sender address to answer."""


def _header(message: EmailMessage, name: str) -> str:
    """A header as one line of text ("" when absent or unreadable): an encoded word that
    decodes to CR LF or other control characters cannot reach a header we write."""
    try:
        value = str(message.get(name, ""))
    except (ValueError, LookupError):  # a header Python's policy refuses to decode
        return ""
    return _CONTROL.sub(" ", value).strip()


def _address(text: str) -> str:
    """The one address `text` names, lowercased ("" unless it names exactly one)."""
    found = getaddresses([text])
    if len(found) != 1 or not _ADDRESS.fullmatch(found[0][1]):
        return ""
    return found[0][1].lower()


def read_email(raw: bytes, envelope_sender: str = "") -> InboundEmail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    from_header = _header(message, "From")
    name = parseaddr(from_header)[0]
    sender = _address(from_header) or _address(envelope_sender)
    if not sender:
        raise UnreadableEmail("the email has no single valid From address to answer")
    message_id = _one_id(_header(message, "Message-ID"))
    if not message_id:  # a message id of our own, the same each time the same mail is sent
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:40]}@ccaas.invalid>"
    return InboundEmail(
        sender=sender[:254],
        name=_CONTROL.sub(" ", name).strip()[:200],
        subject=_header(message, "Subject")[:300],
        message_id=message_id,
        in_reply_to=_one_id(_header(message, "In-Reply-To")),
        references=tuple(_ids(_header(message, "References")))[-50:],
        text=_text_of(message),
    )


def _ids(header: str) -> list[str]:
    return [found for found in re.findall(r"<[^<>\s]{1,250}>", header)]


def _one_id(header: str) -> str:
    found = _ids(header)
    return found[0][:MAX_ID] if found else ""


def _text_of(message: EmailMessage) -> str:
    """The plain text of the message: its text/plain part, else its HTML without tags."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(_TAG.sub(" ", content))
    lines = [_SPACE.sub(" ", line).strip() for line in content.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def our_message_id(message_id: str, contact_id: str, domain: str) -> str:
    """The Message-ID of an agent's reply: it names the contact, so the customer's answer
    (In-Reply-To) leads back to it."""
    return f"<m.{message_id}.{contact_id}@{domain}>"


def contact_of_our_id(message_id: str, domain: str) -> str | None:
    found = _OURS.match(message_id)
    if found is None or found.group(3) != domain:
        return None
    return found.group(2)


def reply(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    message_id: str,
    in_reply_to: str,
    references: list[str],
) -> EmailMessage:
    """An agent's reply, threaded under what it answers."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    subject = _CONTROL.sub(" ", subject).strip()
    mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    mail["Message-ID"] = message_id
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references[-20:])
    mail.set_content(text)
    return mail


def domain_of(address: str) -> str:
    addresses = getaddresses([address])
    found = addresses[0][1] if addresses else ""
    return found.rpartition("@")[2] or "localhost"
