"""Identities in canonical form: one person, one phone number, whatever way it was written."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccaas.domain.identity import Identity, IdentityKind, InvalidIdentity, identity

UK_NUMBERS = ["+442079460001", "+447911123456", "+441614960000", "+442890123456"]


@st.composite
def written_forms(draw: st.DrawFn) -> tuple[str, str]:
    """An E.164 UK number and one of the many ways a person or a system writes it."""
    e164 = draw(st.sampled_from(UK_NUMBERS))
    number = phonenumbers.parse(e164)
    style = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.RFC3966,
            ]
        )
    )
    text = phonenumbers.format_number(number, style)
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["", "-", ".", "  "])))
    if draw(st.booleans()) and text.startswith("+44"):
        text = "0044" + text[3:]
    if draw(st.booleans()):
        text = f" {text} "
    return e164, text


@settings(max_examples=200)
@given(written_forms())
def test_a_phone_number_written_any_way_is_one_identity(case: tuple[str, str]) -> None:
    e164, written = case
    assert identity("phone", written, "GB") == Identity(IdentityKind.PHONE, e164)


def test_a_national_number_is_read_in_the_default_region() -> None:
    assert identity("phone", "(202) 555-0143", "US").value == "+12025550143"
    assert identity("phone", "020 7946 0001", "GB").value == "+442079460001"


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("Jo.Bloggs@Example.COM", "jo.bloggs@example.com"),
        ("  jo.bloggs@EXAMPLE.com ", "jo.bloggs@example.com"),
        ("jo.bloggs+bank@example.com", "jo.bloggs+bank@example.com"),  # +tags are kept
    ],
)
def test_emails_differing_only_in_case_and_spaces_are_one_address(
    written: str, same_as: str
) -> None:
    assert identity("email", written, "GB").value == same_as


def test_handles_lose_the_at_sign_and_case() -> None:
    assert identity("handle", "X:@JoBloggs", "GB").value == "x:jobloggs"


@pytest.mark.parametrize(
    ("kind", "raw", "words"),
    [
        ("phone", "not a number", "not a phone number"),
        ("phone", "+44 20 7946", "not a valid number"),
        ("email", "jo@", "is not valid"),
        ("email", "jo.example.com", "is not valid"),
        ("handle", "myspace:jo", "network:id with a network of"),
        ("handle", "twiter:jo", "must be network:id"),
        ("handle", "x:", "no usable id"),
        ("fax", "123", "unknown identity kind 'fax'"),
        ("visitor", "   ", "1..200 characters"),
    ],
)
def test_an_invalid_identity_is_refused_with_the_reason(kind: str, raw: str, words: str) -> None:
    with pytest.raises(InvalidIdentity, match=words):
        identity(kind, raw, "GB")
