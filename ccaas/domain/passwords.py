"""Agents' passwords: argon2id hashes, and a check that costs the same for an unknown agent."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import InvalidInput

MIN_LENGTH, MAX_LENGTH = 8, 256
# argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): about 20 ms here,
# so that sign-ins cannot easily tie up a 2-core machine
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def check_password_text(password: str) -> None:
    """InvalidInput naming the field when a new password is too short or too long."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters; got {len(password)}",
            field="password",
        )


def hash_password(password: str) -> str:
    check_password_text(password)
    return _HASHER.hash(password)


@cache
def _nobodys_hash() -> str:
    return _HASHER.hash("no agent has this password")


def warm() -> None:
    """Make the stand-in hash now, so that the first unknown agent's sign-in takes no longer
    than any other (the engine calls this at start)."""
    _nobodys_hash()


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from. With no hash (no such agent,
    or no password set) a hash is checked all the same, so that the answer takes as long and
    does not tell who exists."""
    try:
        return _HASHER.verify(stored_hash or _nobodys_hash(), password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
