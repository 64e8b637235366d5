"""The key-value interface shared by the Redis store and the in-process store.

Keys given to a store are logical keys (``session:<id>``); each store prepends its namespace
(``KVSettings.prefix``, e.g. ``lumen:``) before it touches the backend.
"""

from __future__ import annotations

import builtins
from typing import Protocol

from lumen.errors import ComponentError


class KVUnavailable(ComponentError):
    """The store cannot be reached or failed; the message says nothing of its internals."""

    def __init__(
        self, message: str = "the session store is unavailable; try again shortly"
    ) -> None:
        super().__init__(message)


class KVStore(Protocol):
    """Byte values, counters with a window and sets of strings, each with an optional expiry.

    Every method raises :class:`KVUnavailable` when the backend cannot be reached, except
    :meth:`ping`, which answers False, and :meth:`close`.
    """

    def get(self, key: str) -> bytes | None:
        """The value, or None when the key is absent or expired."""
        ...

    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value``; it expires after ``ttl_s`` seconds (never when None)."""
        ...

    def replace(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Overwrite ``key`` only if it still exists; False (nothing written) otherwise."""
        ...

    def delete(self, *keys: str) -> int:
        """Remove the keys; returns how many existed."""
        ...

    def incr_window(self, key: str, window_s: float) -> tuple[int, float]:
        """Atomically add 1 to a counter that expires ``window_s`` after its first increment.

        Returns the new count and the seconds until the counter resets.
        """
        ...

    def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when it is absent or never expires."""
        ...

    def sadd(self, key: str, *members: str) -> None:
        """Add members to the set at ``key`` (its expiry, if any, is kept)."""
        ...

    def srem(self, key: str, *members: str) -> None:
        """Remove members from the set at ``key``; an emptied set disappears."""
        ...

    def smembers(self, key: str) -> builtins.set[str]:
        """The members of the set at ``key`` (empty when absent)."""
        ...

    def expire(self, key: str, ttl_s: float) -> None:
        """Make ``key`` expire after ``ttl_s`` seconds (at once when <= 0); no-op if absent."""
        ...

    def scan_prefix(self, prefix: str) -> list[str]:
        """Logical keys (namespace removed) that start with ``prefix``, sorted; tests, admin."""
        ...

    def ping(self) -> bool:
        """Whether the store answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
