from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from lumen.errors import ComponentError
from lumen.security.crypto import (
    DecryptionError,
    Keyring,
    add_key,
    create_key_file,
    keyring_from_settings,
    load_key_file,
    retire_keys,
)
from lumen.settings import SecuritySettings

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))


@pytest.fixture
def keyring() -> Keyring:
    return Keyring({"a": KEY_A, "b": KEY_B}, "a")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _flip_byte(token: str, index: int) -> str:
    version, key_id, payload = token.split(":")
    blob = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    blob[index] ^= 0x01
    return f"{version}:{key_id}:" + base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()


def test_round_trip_and_token_format(keyring: Keyring) -> None:
    token = keyring.encrypt("metformin 500 mg", context="profile.medications")
    version, key_id, payload = token.split(":")
    assert (version, key_id) == ("v1", "a")
    assert "=" not in payload
    assert "+" not in payload
    assert "/" not in payload
    assert "metformin" not in token
    assert keyring.decrypt(token, context="profile.medications") == "metformin 500 mg"


def test_unicode_and_empty_plaintext(keyring: Keyring) -> None:
    for text in ["", "allergie: pénicilline ☤", "\u00e9\u0301 " * 100]:
        assert keyring.decrypt(keyring.encrypt(text)) == text


def test_fresh_nonce_each_time(keyring: Keyring) -> None:
    tokens = {keyring.encrypt("same") for _ in range(20)}
    assert len(tokens) == 20


@pytest.mark.parametrize("index", [0, 11, 12, -1])
def test_tampered_token_is_rejected(keyring: Keyring, index: int) -> None:
    token = keyring.encrypt("secret note", context="c")
    with pytest.raises(DecryptionError) as info:
        keyring.decrypt(_flip_byte(token, index), context="c")
    assert "secret note" not in str(info.value)


def test_wrong_context_is_rejected(keyring: Keyring) -> None:
    token = keyring.encrypt("x", context="profile.medications")
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, context="profile.allergies")
    with pytest.raises(DecryptionError):
        keyring.decrypt(token)


def test_token_with_swapped_key_id_is_rejected(keyring: Keyring) -> None:
    token = keyring.encrypt("x")
    with pytest.raises(DecryptionError):
        keyring.decrypt(token.replace("v1:a:", "v1:b:", 1))


def test_unknown_key_id_is_named(keyring: Keyring) -> None:
    other = Keyring({"gone": KEY_B}, "gone")
    with pytest.raises(DecryptionError, match="gone"):
        keyring.decrypt(other.encrypt("x"))


@pytest.mark.parametrize(
    "token",
    ["", "plain text", "v2:a:AAAA", "v1:a", "v1:a:!!!", "v1:a:AAAA", "v1:bad id:AAAA", "v1::AAA"],
)
def test_malformed_tokens(keyring: Keyring, token: str) -> None:
    with pytest.raises(DecryptionError):
        keyring.decrypt(token)


def test_json_round_trip(keyring: Keyring) -> None:
    value = {"b": [1, 2, {"z": None}], "a": "ß", "n": 1.5, "t": True}
    token = keyring.encrypt_json(value, context="profile")
    assert keyring.decrypt_json(token, context="profile") == value
    assert keyring.decrypt(token, context="profile") == json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    )


def test_rotation_helpers(keyring: Keyring) -> None:
    old = Keyring({"b": KEY_B}, "b").encrypt("old", context="c")
    assert Keyring.key_id_of(old) == "b"
    assert keyring.needs_rotation(old)
    fresh = keyring.reencrypt(old, context="c")
    assert Keyring.key_id_of(fresh) == "a"
    assert not keyring.needs_rotation(fresh)
    assert keyring.decrypt(fresh, context="c") == "old"
    with pytest.raises(DecryptionError):
        keyring.reencrypt(old, context="other")


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ({}, "a"),
        ({"a": b"short"}, "a"),
        ({"a": KEY_A + b"x"}, "a"),
        ({"a": KEY_A}, "b"),
        ({"bad:id": KEY_A}, "bad:id"),
        ({"x" * 33: KEY_A}, "x" * 33),
    ],
)
def test_invalid_keyrings(keys: dict[str, bytes], active: str) -> None:
    with pytest.raises(ComponentError):
        Keyring(keys, active)


def test_repr_hides_keys(keyring: Keyring) -> None:
    assert KEY_A.hex() not in repr(keyring)
    assert keyring.key_ids == ("a", "b")
    assert keyring.active_id == "a"


# Key files ------------------------------------------------------------------------------------


def test_create_key_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "keys.json"
    keyring = create_key_file(path)
    assert _mode(path) == 0o600
    data = json.loads(path.read_text())
    assert data["active"] == keyring.active_id
    assert len(base64.b64decode(data["keys"][keyring.active_id])) == 32
    assert keyring.active_id.startswith("k")
    assert len(keyring.active_id) == 19
    assert load_key_file(path).decrypt(keyring.encrypt("x")) == "x"
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]


def test_create_key_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    create_key_file(path)
    before = path.read_bytes()
    with pytest.raises(ComponentError, match="already exists"):
        create_key_file(path)
    assert path.read_bytes() == before


def test_add_key_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = create_key_file(path)
    old_token = first.encrypt("history", context="c")
    new_id = add_key(path)
    assert _mode(path) == 0o600
    keyring = load_key_file(path)
    assert keyring.active_id == new_id != first.active_id
    assert set(keyring.key_ids) == {first.active_id, new_id}
    assert keyring.decrypt(old_token, context="c") == "history"
    assert keyring.needs_rotation(old_token)
    rotated = keyring.reencrypt(old_token, context="c")
    assert Keyring.key_id_of(rotated) == new_id


def test_retire_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = create_key_file(path).active_id
    second = add_key(path)
    third = add_key(path)
    assert retire_keys(path, keep={second}) == [first]
    assert set(load_key_file(path).key_ids) == {second, third}
    # The active key is never removed, even when not kept.
    assert retire_keys(path, keep=set()) == [second]
    keyring = load_key_file(path)
    assert keyring.key_ids == (third,)
    assert keyring.active_id == third
    assert retire_keys(path, keep=set()) == []
    assert _mode(path) == 0o600


def test_load_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="does not exist"):
        load_key_file(tmp_path / "missing.json")
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    with pytest.raises(ComponentError, match="not valid JSON"):
        load_key_file(path)
    path.write_text(json.dumps({"keys": {}}))
    with pytest.raises(ComponentError):
        load_key_file(path)
    path.write_text(json.dumps({"active": "a", "keys": {"a": "@@@"}}))
    with pytest.raises(ComponentError, match="base64"):
        load_key_file(path)
    short = base64.b64encode(b"0" * 16).decode()
    path.write_text(json.dumps({"active": "a", "keys": {"a": short}}))
    with pytest.raises(ComponentError, match="32 bytes") as info:
        load_key_file(path)
    assert short not in str(info.value)
    path.write_text(json.dumps({"active": "b", "keys": {"a": base64.b64encode(KEY_A).decode()}}))
    with pytest.raises(ComponentError, match="active"):
        load_key_file(path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_load_key_file_warns_on_loose_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keys.json"
    create_key_file(path)
    with caplog.at_level(logging.WARNING, logger="lumen.security.crypto"):
        load_key_file(path)
    assert not caplog.records
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="lumen.security.crypto"):
        load_key_file(path)
    assert any("chmod 600" in record.getMessage() for record in caplog.records)
    secret = json.loads(path.read_text())["keys"]
    assert not any(value in caplog.text for value in secret.values())


# Settings -------------------------------------------------------------------------------------


def test_keyring_from_env_key(tmp_path: Path) -> None:
    encoded = base64.b64encode(KEY_A).decode()
    security = SecuritySettings(encryption_key=SecretStr(encoded), key_file=tmp_path / "no.json")
    keyring = keyring_from_settings(security, tmp_path, create=True)
    assert keyring.key_ids == ("env",)
    assert keyring.active_id == "env"
    assert not (tmp_path / "keys.json").exists()
    token = keyring.encrypt("x")
    assert Keyring({"env": KEY_A}, "env").decrypt(token) == "x"
    # The URL-safe alphabet and missing padding are accepted too.
    urlsafe = base64.urlsafe_b64encode(KEY_A).decode().rstrip("=")
    security = SecuritySettings(encryption_key=SecretStr(urlsafe))
    assert keyring_from_settings(security, tmp_path, create=False).decrypt(token) == "x"


@pytest.mark.parametrize("value", ["", "not base64 !", base64.b64encode(b"k" * 16).decode()])
def test_keyring_from_bad_env_key(tmp_path: Path, value: str) -> None:
    security = SecuritySettings(encryption_key=SecretStr(value))
    with pytest.raises(ComponentError, match="LUMEN_SECURITY__ENCRYPTION_KEY") as info:
        keyring_from_settings(security, tmp_path, create=True)
    if value:
        assert value not in str(info.value)


def test_keyring_from_key_file_setting(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "k.json"
    created = create_key_file(path)
    security = SecuritySettings(key_file=path)
    keyring = keyring_from_settings(security, tmp_path / "data", create=True)
    assert keyring.active_id == created.active_id
    assert not (tmp_path / "data" / "keys.json").exists()
    with pytest.raises(ComponentError, match="does not exist"):
        keyring_from_settings(
            SecuritySettings(key_file=tmp_path / "missing.json"), tmp_path, create=True
        )


def test_keyring_from_default_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(ComponentError) as info:
        keyring_from_settings(SecuritySettings(), data_dir, create=False)
    message = str(info.value)
    assert "LUMEN_SECURITY__ENCRYPTION_KEY" in message
    assert "LUMEN_SECURITY__KEY_FILE" in message
    assert not (data_dir / "keys.json").exists()

    created = keyring_from_settings(SecuritySettings(), data_dir, create=True)
    assert _mode(data_dir / "keys.json") == 0o600
    token = created.encrypt("x")
    # Existing default file: loaded, whether or not creating is allowed.
    for create in (False, True):
        loaded = keyring_from_settings(SecuritySettings(), data_dir, create=create)
        assert loaded.active_id == created.active_id
        assert loaded.decrypt(token) == "x"


def test_create_key_file_reports_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ComponentError, match="cannot create"):
        create_key_file(blocker / "keys.json")
