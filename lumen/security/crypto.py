"""AES-256-GCM encryption of database fields, with key ids stored beside the ciphertext.

A token reads ``v1:<key_id>:<base64url(nonce || ciphertext)>``. The keyring holds every
key that may still be needed to decrypt; only the active one encrypts. Rotating keys means
adding a key (it becomes active), re-encrypting old tokens, then retiring the old key.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lumen.errors import ComponentError, LumenError
from lumen.settings import SecuritySettings

logger = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_VERSION = "v1"  # noqa: S105 - the ciphertext format version
ENV_KEY_ID = "env"
DEFAULT_KEY_FILE_NAME = "keys.json"
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TAG_BYTES = 16


class DecryptionError(LumenError):
    """A token could not be decrypted: malformed, unknown key, or failed authentication."""


class Keyring:
    """AES-256-GCM keys by id; the active key encrypts, any key decrypts."""

    def __init__(self, keys: dict[str, bytes], active_id: str) -> None:
        if not keys:
            raise ComponentError("the encryption keyring holds no keys")
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID_PATTERN.fullmatch(key_id):
                raise ComponentError(
                    f"invalid encryption key id {key_id!r}: use 1-32 letters, digits, '_' or '-'"
                )
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise ComponentError(f"encryption key {key_id!r} must be exactly {KEY_BYTES} bytes")
        if active_id not in keys:
            raise ComponentError(f"the active encryption key {active_id!r} is not in the keyring")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active_id = active_id

    def __repr__(self) -> str:
        return f"Keyring(active_id={self._active_id!r}, key_ids={self.key_ids!r})"

    @property
    def active_id(self) -> str:
        """The id of the key that encrypts."""
        return self._active_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key that can decrypt, sorted."""
        return tuple(sorted(self._ciphers))

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt ``plaintext`` with the active key; ``context`` is bound as associated data."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._active_id].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{TOKEN_VERSION}:{self._active_id}:{payload}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Decrypt a token made by :meth:`encrypt` with the same ``context``.

        Raises:
            DecryptionError: the token is malformed, its key is unknown, or it fails
                authentication (tampered, or another context).

        """
        key_id, blob = _parse_token(token)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"cannot decrypt: encryption key {key_id!r} is not configured")
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError(
                "cannot decrypt: the data was altered or belongs to another field"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("cannot decrypt: the data is not text") from None

    def encrypt_json(self, value: Any, *, context: str = "") -> str:
        """Encrypt a JSON-serialisable value (compact JSON, keys sorted)."""
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return self.encrypt(text, context=context)

    def decrypt_json(self, token: str, *, context: str = "") -> Any:
        """Decrypt a token made by :meth:`encrypt_json`."""
        text = self.decrypt(token, context=context)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise DecryptionError("cannot decrypt: the data is not JSON") from None

    @staticmethod
    def key_id_of(token: str) -> str:
        """The id of the key that encrypted ``token``."""
        return _parse_token(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """Whether ``token`` was encrypted with a key other than the active one."""
        return self.key_id_of(token) != self._active_id

    def reencrypt(self, token: str, *, context: str = "") -> str:
        """Decrypt ``token`` with whichever key made it and encrypt it with the active key."""
        return self.encrypt(self.decrypt(token, context=context), context=context)


def _parse_token(token: str) -> tuple[str, bytes]:
    """Split a token into its key id and ``nonce || ciphertext``."""
    if not isinstance(token, str):
        raise DecryptionError("cannot decrypt: the encrypted value is not text")
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise DecryptionError("cannot decrypt: the encrypted value is malformed")
    _, key_id, payload = parts
    if not _KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("cannot decrypt: the encrypted value is malformed")
    try:
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("cannot decrypt: the encrypted value is malformed") from None
    if len(blob) < NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("cannot decrypt: the encrypted value is malformed")
    return key_id, blob


# Key files -----------------------------------------------------------------------------------


def _new_key_id() -> str:
    """``k`` + the UTC time + 4 random hex digits, e.g. ``k20250101120000a1b2``."""
    return "k" + datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _read_key_data(path: Path) -> tuple[dict[str, bytes], str]:
    """Read and validate a key file: the keys by id and the active id."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ComponentError(f"the encryption key file {path} does not exist") from None
    except OSError as exc:
        raise ComponentError(
            f"cannot read the encryption key file {path}: {exc.strerror}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ComponentError(f"the encryption key file {path} is not valid JSON") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("active"), str)
        or not isinstance(data.get("keys"), dict)
    ):
        raise ComponentError(
            f"the encryption key file {path} must hold "
            '{"active": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}}'
        )
    keys: dict[str, bytes] = {}
    for key_id, encoded in data["keys"].items():
        if not isinstance(encoded, str):
            raise ComponentError(f"key {key_id!r} in {path} is not a base64 string")
        try:
            keys[key_id] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ComponentError(f"key {key_id!r} in {path} is not valid base64") from None
    active_id: str = data["active"]
    return keys, active_id


def _check_file_mode(path: Path) -> None:
    """Warn when a key file can be read by the group or others."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        logger.warning(
            "the encryption key file %s has mode %o; restrict it with: chmod 600 %s",
            path,
            mode,
            path,
        )


def _write_temp(path: Path, keys: dict[str, bytes], active_id: str) -> Path:
    """Write a key file to a new 0600 temporary file beside ``path``; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps(
        {"active": active_id, "keys": {key_id: _encode_key(key) for key_id, key in keys.items()}},
        indent=2,
        sort_keys=True,
    )
    # mkstemp creates the file with mode 0600.
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _write_key_file(path: Path, keys: dict[str, bytes], active_id: str) -> None:
    """Replace ``path`` atomically with a 0600 key file."""
    try:
        temp = _write_temp(path, keys, active_id)
        try:
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ComponentError(
            f"cannot write the encryption key file {path}: {exc.strerror}"
        ) from None


def _create_exclusively(path: Path, keys: dict[str, bytes], active_id: str) -> bool:
    """Create ``path`` as a 0600 key file; False if it exists (even if created in a race)."""
    temp = _write_temp(path, keys, active_id)
    try:
        try:
            # A hard link fails if the target exists, so two processes cannot both create it.
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError:
            # No hard links on this file system: fall back to an exclusive create.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(temp.read_bytes())
                handle.flush()
                os.fsync(handle.fileno())
    finally:
        temp.unlink(missing_ok=True)
    return True


def load_key_file(path: Path) -> Keyring:
    """Load a keyring from a JSON key file.

    Raises:
        ComponentError: the file is missing or invalid.

    """
    keys, active_id = _read_key_data(path)
    _check_file_mode(path)
    try:
        return Keyring(keys, active_id)
    except ComponentError as exc:
        raise ComponentError(f"the encryption key file {path} is invalid: {exc}") from None


def create_key_file(path: Path) -> Keyring:
    """Create a key file holding one new random key (mode 0600; never overwrites).

    Raises:
        ComponentError: the file already exists or cannot be written.

    """
    key_id = _new_key_id()
    keys = {key_id: AESGCM.generate_key(bit_length=KEY_BYTES * 8)}
    exists = ComponentError(f"the encryption key file {path} already exists; not overwriting it")
    if path.exists():
        raise exists
    try:
        created = _create_exclusively(path, keys, key_id)
    except OSError as exc:
        raise ComponentError(
            f"cannot create the encryption key file {path}: {exc.strerror}"
        ) from None
    if not created:
        raise exists
    logger.info("created the encryption key file %s (key %s)", path, key_id)
    return Keyring(keys, key_id)


def add_key(path: Path) -> str:
    """Add a new random key to a key file and make it active; returns the new key's id.

    Old keys stay, so what they encrypted still decrypts.
    """
    keys, _ = _read_key_data(path)
    key_id = _new_key_id()
    while key_id in keys:
        key_id = _new_key_id()
    keys[key_id] = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    Keyring(keys, key_id)  # validates the whole file before it is written
    _write_key_file(path, keys, key_id)
    logger.info("added encryption key %s to %s; it is now active", key_id, path)
    return key_id


def retire_keys(path: Path, keep: set[str]) -> list[str]:
    """Remove the keys not in ``keep`` (never the active one); returns the removed ids, sorted.

    Anything still encrypted with a removed key can no longer be decrypted: re-encrypt first.
    """
    keys, active_id = _read_key_data(path)
    removed = sorted(key_id for key_id in keys if key_id not in keep and key_id != active_id)
    if not removed:
        return []
    remaining = {key_id: key for key_id, key in keys.items() if key_id not in removed}
    Keyring(remaining, active_id)
    _write_key_file(path, remaining, active_id)
    logger.info("retired encryption keys %s from %s", ", ".join(removed), path)
    return removed


def _decode_env_key(value: str) -> bytes:
    """Decode a base64 (standard or URL-safe) key from the environment; must be 32 bytes."""
    normalised = value.strip().replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        key = base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ComponentError(
            f"LUMEN_SECURITY__ENCRYPTION_KEY must be the base64 of {KEY_BYTES} random bytes, "
            'e.g. the output of: python -c "import base64,os;'
            'print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return key


def keyring_from_settings(security: SecuritySettings, data_dir: Path, *, create: bool) -> Keyring:
    """The keyring the settings name: the environment key, the key file, or ``keys.json``.

    Args:
        security: the security settings.
        data_dir: Lumen's data folder, home of the default key file.
        create: create the default key file when it does not exist (embedded profile).

    Raises:
        ComponentError: no key is configured, or the configured key is invalid.

    """
    if security.encryption_key is not None:
        key = _decode_env_key(security.encryption_key.get_secret_value())
        return Keyring({ENV_KEY_ID: key}, ENV_KEY_ID)
    if security.key_file is not None:
        return load_key_file(security.key_file)
    path = data_dir / DEFAULT_KEY_FILE_NAME
    if path.exists():
        return load_key_file(path)
    if not create:
        raise ComponentError(
            f"no encryption key is configured and {path} does not exist: set "
            "LUMEN_SECURITY__ENCRYPTION_KEY (base64 of 32 bytes) or "
            "LUMEN_SECURITY__KEY_FILE (a JSON key file)"
        )
    try:
        return create_key_file(path)
    except ComponentError:
        if path.exists():  # another process created it first
            return load_key_file(path)
        raise


__all__ = [
    "DecryptionError",
    "Keyring",
    "add_key",
    "create_key_file",
    "keyring_from_settings",
    "load_key_file",
    "retire_keys",
]
