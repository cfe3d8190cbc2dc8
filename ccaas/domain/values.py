"""The limits and name shapes every layer shares, each defined once."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import Field

MIN_LEVEL, MAX_LEVEL = 1, 10  # skill proficiency
MIN_PRIORITY, MAX_PRIORITY = -100, 100  # a contact's priority, and every sum of terms
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Level = Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL, strict=True)]
Priority = Annotated[int, Field(ge=MIN_PRIORITY, le=MAX_PRIORITY, strict=True)]
# names in the rules (skills, profiles, rules, steps): a letter or digit first, then _ . : -
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
# an agent's phone: a SIP address or an E.164 number (what a voice provider can dial)
VOICE_ENDPOINT = (
    r"^(sips?:[A-Za-z0-9_.!~*'()&=+$,;?/%-]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?|\+[1-9][0-9]{6,14})$"
)
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # a name safe in a Redis key and MQTT topic
# names in API bodies (and profile keys): 1..64 of the same characters, in any order
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def clamp_priority(priority: int) -> int:
    return max(MIN_PRIORITY, min(MAX_PRIORITY, priority))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest of `choices`, or '' when none is close."""
    found = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean {found[0]!r}?" if found else ""
