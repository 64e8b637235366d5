"""Password rules after NIST SP 800-63B rev. 4, and argon2id hashing.

Length is what counts: no composition rules, any printable characters and spaces, nothing
truncated. Passwords found on a list of common passwords, trivially patterned passwords and
passwords containing the user's own name or the service's name are refused.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lumen.errors import InputError
from lumen.settings import AuthSettings

MIN_CONTEXT_WORD_LENGTH = 4
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs"})  # control characters, lone surrogates


class WeakPasswordError(InputError):
    """The password does not meet the password policy (the message says why)."""


@dataclass(frozen=True)
class PasswordPolicy:
    """Length limits, in Unicode code points after NFKC normalisation."""

    min_length: int = 15
    min_length_mfa: int = 8
    max_length: int = 256

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> PasswordPolicy:
        """The policy the authentication settings describe."""
        return cls(
            min_length=auth.password_min_length,
            min_length_mfa=auth.password_min_length_mfa,
            max_length=auth.password_max_length,
        )


def normalize_password(password: str) -> str:
    """NFKC normalisation, so that equivalent Unicode spellings count and hash the same."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The common passwords of zxcvbn's list, in lower case, loaded once."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(entry.lower() for entry in FREQUENCY_LISTS["passwords"])


def _is_repeated_common_password(candidate: str, common: frozenset[str]) -> bool:
    """Whether ``candidate`` is one common password repeated, e.g. ``passwordpassword``."""
    length = len(candidate)
    for unit in range(1, length // 2 + 1):
        if length % unit == 0:
            prefix = candidate[:unit]
            if prefix * (length // unit) == candidate and prefix in common:
                return True
    return False


def _step(previous: str, current: str) -> int | None:
    """+1 or -1 when ``current`` follows or precedes ``previous`` (wrapping 9-0 and z-a)."""
    difference = ord(current) - ord(previous)
    if difference in (1, -1):
        return difference
    wraps = {("9", "0"): 1, ("0", "9"): -1, ("z", "a"): 1, ("a", "z"): -1}
    return wraps.get((previous, current))


def _is_sequential(candidate: str) -> bool:
    """Whether ``candidate`` is a run like ``abcdefgh`` or ``1234567890123`` (either way)."""
    if len(candidate) < 3:
        return False
    first = _step(candidate[0], candidate[1])
    if first is None:
        return False
    return all(
        _step(previous, current) == first for previous, current in itertools.pairwise(candidate[1:])
    )


def check_password(
    password: str,
    policy: PasswordPolicy,
    *,
    mfa_enabled: bool = False,
    context_words: Sequence[str] = (),
) -> None:
    """Check a new password against the policy.

    Args:
        password: the password as typed.
        policy: the length limits.
        mfa_enabled: whether a second factor protects the account (shorter minimum).
        context_words: words the password must not contain, such as the local part of the
            user's e-mail address and the service's name; words under 4 characters are ignored.

    Raises:
        WeakPasswordError: the password is refused; the message says why, never the password.

    """
    normalized = normalize_password(password)
    minimum = policy.min_length_mfa if mfa_enabled else policy.min_length
    length = len(normalized)
    if length < minimum:
        raise WeakPasswordError(f"Use a password of at least {minimum} characters.")
    if length > policy.max_length:
        raise WeakPasswordError(f"Use a password of at most {policy.max_length} characters.")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in normalized):
        raise WeakPasswordError("A password may not contain control characters.")
    lowered = normalized.lower()
    candidates = {lowered, lowered.strip()}
    common = _common_passwords()
    if any(
        candidate in common or _is_repeated_common_password(candidate, common)
        for candidate in candidates
    ):
        raise WeakPasswordError(
            "This password is too common and easy to guess; choose another one."
        )
    if any(len(set(candidate)) <= 1 or _is_sequential(candidate) for candidate in candidates):
        raise WeakPasswordError(
            "This password is a simple pattern that is easy to guess; choose another one."
        )
    for word in context_words:
        folded = normalize_password(word).strip().lower()
        if len(folded) >= MIN_CONTEXT_WORD_LENGTH and folded in lowered:
            raise WeakPasswordError(
                "A password may not contain your name, your e-mail address or the name of "
                "this service."
            )


class PasswordHasher:
    """argon2id password hashes (defaults: 19 MiB, 2 passes, 1 lane, the OWASP minimum)."""

    def __init__(
        self,
        *,
        memory_cost: int = 19_456,
        time_cost: int = 2,
        parallelism: int = 1,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id hash (PHC string, ``$argon2id$...``) of the normalised password."""
        return self._hasher.hash(normalize_password(password))

    def verify(self, hash: str, password: str) -> bool:
        """Whether ``password`` matches ``hash``; False for a mismatch or an invalid hash."""
        try:
            return self._hasher.verify(hash, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hash: str) -> bool:
        """Whether ``hash`` was made with other parameters and should be replaced on sign-in."""
        try:
            return self._hasher.check_needs_rehash(hash)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend as long as a real verification (for accounts that do not exist)."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hash("lumen dummy password for timing equalisation")
        self.verify(self._dummy_hash, password)


__all__ = [
    "PasswordHasher",
    "PasswordPolicy",
    "WeakPasswordError",
    "check_password",
    "normalize_password",
]
