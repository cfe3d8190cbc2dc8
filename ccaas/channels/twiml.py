"""TwiML documents for a caller: hold them in a queue, tell them their place, offer a call
back, put them through to the agent, or say why not and hang up."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

CALLBACK_DIGIT = "1"


def document(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def say(text: str) -> str:
    return f"<Say>{escape(text)}</Say>"


def pause(seconds: int) -> str:
    return f'<Pause length="{seconds}"/>'


def enqueue(queue: str, wait_url: str, action_url: str) -> str:
    return (
        f'<Enqueue waitUrl={quoteattr(wait_url)} waitUrlMethod="POST" '
        f'action={quoteattr(action_url)} method="POST">{escape(queue)}</Enqueue>'
    )


def gather(action_url: str, *verbs: str) -> str:
    """One key press (while `verbs` play) goes to `action_url`."""
    return (
        f'<Gather numDigits="1" timeout="1" action={quoteattr(action_url)} '
        f'method="POST">{"".join(verbs)}</Gather>'
    )


def dial(endpoint: str, action_url: str, timeout_seconds: int = 30) -> str:
    """Put the caller through to a SIP address or a phone number."""
    noun = "Sip" if endpoint.startswith(("sip:", "sips:")) else "Number"
    return (
        f'<Dial timeout="{timeout_seconds}" action={quoteattr(action_url)} method="POST">'
        f"<{noun}>{escape(endpoint)}</{noun}></Dial>"
    )


LEAVE = "<Leave/>"
HANGUP = "<Hangup/>"


def ordinal(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def place_words(position: int, ewt_seconds: int | None) -> str:
    """ "You are 3rd in the queue. Your wait is about 2 minutes." as a caller hears it."""
    where = (
        "You are next in the queue."
        if position <= 1
        else (f"You are {ordinal(position)} in the queue.")
    )
    if ewt_seconds is None:
        return where
    if ewt_seconds < 60:
        return f"{where} Your wait is less than a minute."
    minutes = round(ewt_seconds / 60)
    return f"{where} Your wait is about {minutes} minute{'s' if minutes != 1 else ''}."
