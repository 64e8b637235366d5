from __future__ import annotations

import time

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from lumen.security.passwords import (
    PasswordHasher,
    PasswordPolicy,
    WeakPasswordError,
    check_password,
)
from lumen.settings import AuthSettings

POLICY = PasswordPolicy()
GOOD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


def _refused(password: str, **kwargs: object) -> str:
    with pytest.raises(WeakPasswordError) as info:
        check_password(password, POLICY, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert password not in message
    return message


def test_policy_defaults_and_settings() -> None:
    assert (POLICY.min_length, POLICY.min_length_mfa, POLICY.max_length) == (15, 8, 256)
    auth = AuthSettings(password_min_length=20, password_min_length_mfa=10, password_max_length=100)
    assert PasswordPolicy.from_settings(auth) == PasswordPolicy(20, 10, 100)
    assert PasswordPolicy.from_settings(AuthSettings()) == POLICY


def test_min_length_depends_on_mfa() -> None:
    check_password(GOOD, POLICY)
    assert "15" in _refused("tulip river 7k")  # 14 characters
    check_password("tulip river 7kq", POLICY)  # 15
    check_password("tulip7kq", POLICY, mfa_enabled=True)  # 8
    assert "8" in _refused("tulip7k", mfa_enabled=True)
    assert "15" in _refused("tulip7kq")


def test_max_length() -> None:
    sixty_four = ("purple elephants dance at dawn " * 3)[:64]
    assert len(sixty_four) == 64
    check_password(sixty_four, POLICY)
    longest = ("glacier lake " * 20)[:255] + "!"
    assert len(longest) == 256
    check_password(longest, POLICY)
    assert "256" in _refused(longest + "?")


def test_length_counts_code_points_after_nfkc() -> None:
    # The ligature "ﬁ" (one code point) becomes "fi" (two) under NFKC: 14 typed, 17 counted.
    ligatures = "ﬁ" * 3 + "sh tank lam"
    assert len(ligatures) == 14
    check_password(ligatures, POLICY)
    # "e" + combining acute composes to one code point: 21 typed, 14 counted.
    decomposed = "e\u0301" * 7 + "ma tour"
    assert len(decomposed) == 21
    _refused(decomposed)


def test_unicode_and_spaces_are_accepted() -> None:
    check_password("Ünïcødé pässwörd ✓ 密码", POLICY)
    check_password("    four spaces then words    ", POLICY)
    check_password("emoji 🐘🐘🐘 are fine here", POLICY)


def test_no_composition_rules() -> None:
    check_password("all lower case words only", POLICY)
    check_password("ALLUPPERCASEWORDSONLY", POLICY)


def test_control_characters_are_refused() -> None:
    _refused("tab\tinside this password")
    _refused("nul\x00inside this password")


def test_common_passwords_are_refused() -> None:
    long_common = [p for p in FREQUENCY_LISTS["passwords"] if len(p) >= 15]
    assert long_common
    for entry in long_common[:5]:
        assert "common" in _refused(entry)
        _refused(entry.upper())
        _refused(f"  {entry}  ")
    _refused("qwertyuiop", mfa_enabled=True)


def test_repeated_common_password_is_refused() -> None:
    assert "common" in _refused("passwordpassword")
    _refused("iloveyouiloveyouiloveyou")
    _refused("PasswordPASSWORD")


def test_patterns_are_refused() -> None:
    assert "pattern" in _refused("aaaaaaaaaaaaaaaa")
    _refused("                ")
    _refused("abcdefghijklmnop")
    _refused("ponmlkjihgfedcba")
    _refused("123456789012345")
    _refused("543210987654321")
    _refused("xyzabcdefghijklm")


def test_context_words_are_refused() -> None:
    message = _refused("my lumen account 2024!", context_words=["lumen"])
    assert "lumen" not in message.lower().replace("this service", "")
    _refused("AnaSilva loves the sea", context_words=["anasilva", "lumen"])
    # Words shorter than four characters are ignored.
    check_password("ana loves the deep sea", POLICY, context_words=["ana"])
    check_password("nothing related at all", POLICY, context_words=["anasilva", ""])


def test_hash_and_verify(hasher: PasswordHasher) -> None:
    hashed = hasher.hash(GOOD)
    assert hashed.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in hashed
    assert GOOD not in hashed
    assert hasher.verify(hashed, GOOD)
    assert not hasher.verify(hashed, GOOD + " ")
    assert not hasher.verify(hashed, "")
    assert hasher.hash(GOOD) != hashed  # salted


def test_verify_normalises(hasher: PasswordHasher) -> None:
    hashed = hasher.hash("caf\u00e9 au lait s'il vous plaît")
    assert hasher.verify(hashed, "cafe\u0301 au lait s'il vous plaît")


def test_invalid_hash_is_false(hasher: PasswordHasher) -> None:
    assert not hasher.verify("not a hash", GOOD)
    assert not hasher.verify("", GOOD)
    assert not hasher.verify("$argon2id$v=19$m=19456,t=2,p=1$garbage", GOOD)


def test_needs_rehash(hasher: PasswordHasher) -> None:
    hashed = hasher.hash(GOOD)
    assert not hasher.needs_rehash(hashed)
    stronger = PasswordHasher(time_cost=3)
    assert stronger.needs_rehash(hashed)
    assert stronger.verify(hashed, GOOD)
    assert hasher.needs_rehash("not a hash")


def test_dummy_verify_takes_as_long(hasher: PasswordHasher) -> None:
    hashed = hasher.hash(GOOD)
    hasher.dummy_verify(GOOD)  # computes the dummy hash once

    def timed(action: object) -> float:
        start = time.perf_counter()
        for _ in range(3):
            action()  # type: ignore[operator]
        return time.perf_counter() - start

    real = timed(lambda: hasher.verify(hashed, "wrong password here"))
    dummy = timed(lambda: hasher.dummy_verify("wrong password here"))
    assert dummy > real * 0.5
