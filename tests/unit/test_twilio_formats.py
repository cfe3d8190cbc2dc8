"""Twilio's signature (checked against the vector Twilio documents) and the TwiML a caller
hears, without I/O."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from ccaas.channels import twiml
from ccaas.channels.twilio_signature import signed_by_twilio, twilio_signature

# Twilio's documented example: auth token 12345, this URL, these parameters
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]


def test_the_documented_vector_signs_as_twilio_says() -> None:
    assert twilio_signature("12345", URL, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signed_by_twilio("12345", URL, reversed(PARAMS), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


@pytest.mark.parametrize(
    ("token", "url", "params"),
    [
        ("12346", URL, PARAMS),  # another account's token
        ("12345", URL.replace("foo=1", "foo=2"), PARAMS),  # another URL
        ("12345", URL, [*PARAMS[:-1], ("To", "+18005551213")]),  # a changed parameter
        ("12345", URL, PARAMS[:-1]),  # a parameter left out
        ("12345", URL, [*PARAMS, ("Extra", "")]),  # one added
    ],
)
def test_anything_changed_no_longer_matches(
    token: str, url: str, params: list[tuple[str, str]]
) -> None:
    assert not signed_by_twilio(token, url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_twiml_is_well_formed_and_escapes_what_it_says() -> None:
    doc = twiml.document(
        twiml.gather("https://x/gather?contact=a&b", twiml.say("<Hangup/> & more")),
        twiml.dial("sip:ann@pbx.example.com", "https://x/dialled?contact=c1"),
    )
    root = ElementTree.fromstring(doc)
    assert [child.tag for child in root] == ["Gather", "Dial"]
    assert root[0].get("action") == "https://x/gather?contact=a&b"
    assert root[0][0].text == "<Hangup/> & more"
    assert root[1][0].tag == "Sip" and root[1][0].text == "sip:ann@pbx.example.com"
    assert (
        ElementTree.fromstring(twiml.document(twiml.dial("+442079460000", "u")))[0][0].tag
        == "Number"
    )


@pytest.mark.parametrize(
    ("position", "ewt", "words"),
    [
        (1, None, "You are next in the queue."),
        (2, 30, "You are 2nd in the queue. Your wait is less than a minute."),
        (3, 130, "You are 3rd in the queue. Your wait is about 2 minutes."),
        (11, 60, "You are 11th in the queue. Your wait is about 1 minute."),
        (22, 3600, "You are 22nd in the queue. Your wait is about 60 minutes."),
    ],
)
def test_a_caller_hears_their_place_and_wait(position: int, ewt: int | None, words: str) -> None:
    assert twiml.place_words(position, ewt) == words
