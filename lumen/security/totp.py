"""Time-based one-time passwords (RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import pyotp

TOTP_DIGITS = 6
TOTP_INTERVAL_S = 30
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
# Crockford's base32 in lower case: 32 symbols, no i, l, o or u; typed o, i and l are read as
# 0, 1 and 1. Twelve symbols make 60 bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_TYPOS = str.maketrans({"o": "0", "i": "1", "l": "1"})
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4


def new_totp_secret() -> str:
    """A new random base32 TOTP secret of 160 bits."""
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL_S).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def totp_step(now: float) -> int:
    """The TOTP time step that contains ``now``."""
    return int(now) // TOTP_INTERVAL_S


def verify_totp(
    secret: str,
    code: str,
    *,
    now: float,
    last_used_step: int | None,
    valid_window: int = 1,
) -> int | None:
    """Check a TOTP code; returns the time step it matched, or None.

    Args:
        secret: the user's base32 secret.
        code: the code as typed (spaces are ignored).
        now: the current time in seconds since the epoch (from the injected clock).
        last_used_step: the step of the last code accepted; that step and earlier ones are
            refused, so that a code cannot be replayed.
        valid_window: steps of 30 s accepted on either side of the current one (clock drift).

    """
    cleaned = "".join(code.split())
    if len(cleaned) != TOTP_DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL_S)
    current = totp_step(now)
    matched: int | None = None
    for step in range(current - valid_window, current + valid_window + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        # Compare every candidate, in constant time, so timing reveals nothing.
        if hmac.compare_digest(totp.generate_otp(step), cleaned) and matched is None:
            matched = step
    return matched


def generate_recovery_codes(n: int = 10) -> list[str]:
    """``n`` distinct recovery codes like ``7kx2-mq9p-ah4c`` (60 random bits each)."""
    codes: list[str] = []
    while len(codes) < n:
        groups = (
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
            for _ in range(RECOVERY_GROUPS)
        )
        code = "-".join(groups)
        if code not in codes:
            codes.append(code)
    return codes


def normalize_recovery_code(code: str) -> str:
    """Lower case, without whitespace and dashes, with o, i and l read as 0, 1 and 1."""
    kept = "".join(char for char in code.lower() if char != "-" and not char.isspace())
    return kept.translate(_RECOVERY_TYPOS)


def hash_recovery_code(code: str) -> str:
    """SHA-256 hex of the normalised code (the codes are random, so a fast hash is enough)."""
    return hashlib.sha256(normalize_recovery_code(code).encode("utf-8")).hexdigest()


def match_recovery_code(code: str, hashes: Sequence[str]) -> int | None:
    """The index of the hash ``code`` matches, or None (constant-time comparisons)."""
    candidate = hash_recovery_code(code)
    matched: int | None = None
    for index, stored in enumerate(hashes):
        if hmac.compare_digest(candidate, stored) and matched is None:
            matched = index
    return matched


__all__ = [
    "generate_recovery_codes",
    "hash_recovery_code",
    "match_recovery_code",
    "new_totp_secret",
    "provisioning_uri",
    "totp_step",
    "verify_totp",
]
