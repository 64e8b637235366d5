"""Uploaded files in a local folder (the embedded default)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from lumen.errors import InputError, NotFoundError


class LocalBlobStore:
    """Files under ``root``; keys never leave it."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root) or path == self._root:
            raise InputError(f"invalid storage key {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write atomically (a temporary file, then a rename), mode 0600."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        """The file's bytes."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no stored file {key!r}") from None

    def delete(self, key: str) -> None:
        """Remove the file and its folder when empty."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()
