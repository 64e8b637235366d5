"""The interface of a blob store for uploaded files."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    """Bytes under keys like ``uploads/<id>/<name>``."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing it)."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; NotFoundError if there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing if it is absent)."""
