from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from lumen.security.totp import (
    RECOVERY_ALPHABET,
    generate_recovery_codes,
    hash_recovery_code,
    match_recovery_code,
    new_totp_secret,
    provisioning_uri,
    totp_step,
    verify_totp,
)

NOW = 1_800_000_015.0  # step 60_000_000, 15 s into it
STEP = 60_000_000


@pytest.fixture
def secret() -> str:
    return new_totp_secret()


def test_secret_is_160_bit_base32(secret: str) -> None:
    assert len(base64.b32decode(secret)) == 20
    assert new_totp_secret() != secret


def test_provisioning_uri(secret: str) -> None:
    uri = provisioning_uri(secret, "ana@example.org", "Lumen")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Lumen"]
    assert "ana%40example.org" in parsed.path or "ana@example.org" in parsed.path


def test_current_code_is_accepted(secret: str) -> None:
    assert totp_step(NOW) == STEP
    code = pyotp.TOTP(secret).at(NOW)
    assert verify_totp(secret, code, now=NOW, last_used_step=None) == STEP
    spaced = f"{code[:3]} {code[3:]}"
    assert verify_totp(secret, spaced, now=NOW, last_used_step=None) == STEP


def test_window(secret: str) -> None:
    totp = pyotp.TOTP(secret)
    previous = totp.at(NOW - 30)
    following = totp.at(NOW + 30)
    assert verify_totp(secret, previous, now=NOW, last_used_step=None) == STEP - 1
    assert verify_totp(secret, following, now=NOW, last_used_step=None) == STEP + 1
    too_old = totp.at(NOW - 60)
    assert verify_totp(secret, too_old, now=NOW, last_used_step=None) is None
    assert verify_totp(secret, too_old, now=NOW, last_used_step=None, valid_window=2) == STEP - 2
    assert verify_totp(secret, previous, now=NOW, last_used_step=None, valid_window=0) is None


def test_replay_is_rejected(secret: str) -> None:
    code = pyotp.TOTP(secret).at(NOW)
    step = verify_totp(secret, code, now=NOW, last_used_step=None)
    assert step == STEP
    assert verify_totp(secret, code, now=NOW + 5, last_used_step=step) is None
    later = pyotp.TOTP(secret).at(NOW + 30)
    assert verify_totp(secret, later, now=NOW + 30, last_used_step=step) == STEP + 1
    # A code from before the last accepted step is refused too.
    earlier = pyotp.TOTP(secret).at(NOW - 30)
    assert verify_totp(secret, earlier, now=NOW, last_used_step=STEP) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12345a", "١٢٣٤٥٦"])
def test_malformed_codes(secret: str, code: str) -> None:
    assert verify_totp(secret, code, now=NOW, last_used_step=None) is None


def test_wrong_code(secret: str) -> None:
    totp = pyotp.TOTP(secret)
    valid = {totp.at(NOW + offset) for offset in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)
    assert verify_totp(secret, wrong, now=NOW, last_used_step=None) is None


def test_recovery_codes_format_and_uniqueness() -> None:
    codes = generate_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    alphabet = re.escape(RECOVERY_ALPHABET)
    pattern = re.compile(f"[{alphabet}]{{4}}-[{alphabet}]{{4}}-[{alphabet}]{{4}}")
    assert all(pattern.fullmatch(code) for code in codes)
    assert len(RECOVERY_ALPHABET) ** 12 >= 2**60
    assert not set("ilou") & set(RECOVERY_ALPHABET)
    assert len(generate_recovery_codes(3)) == 3


def test_recovery_code_matching() -> None:
    codes = generate_recovery_codes(5)
    hashes = [hash_recovery_code(code) for code in codes]
    assert all(re.fullmatch("[0-9a-f]{64}", h) for h in hashes)
    assert match_recovery_code(codes[3], hashes) == 3
    typed = " " + codes[2].upper().replace("-", " ") + " "
    assert match_recovery_code(typed, hashes) == 2
    assert match_recovery_code(codes[1].replace("-", ""), hashes) == 1
    assert match_recovery_code("aaaa-bbbb-cccc", hashes) is None
    assert match_recovery_code(codes[0], []) is None


def test_recovery_code_typos_are_forgiven() -> None:
    stored = hash_recovery_code("a0b1-c1d0-eeee")
    assert hash_recovery_code("AOBI-CLDo-eeee") == stored
