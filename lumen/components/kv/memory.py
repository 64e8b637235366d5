"""An in-process store for one worker: the embedded profile and tests."""

from __future__ import annotations

import builtins
import threading
from dataclasses import dataclass

from lumen.clock import Clock


@dataclass
class _Entry:
    value: bytes | builtins.set[str]
    expires_at: float | None = None


class MemoryKV:
    """A thread-safe dict with expiry measured on the injected clock.

    Expired keys are dropped when they are next touched, and all of them whenever a write
    finds enough time has passed since the last sweep. Nothing is shared between processes,
    so this store suits a single worker only.
    """

    _SWEEP_EVERY_S = 60.0

    def __init__(self, clock: Clock, prefix: str = "lumen:") -> None:
        self._clock = clock
        self._prefix = prefix
        self._data: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock.now()

    # -- helpers (call with the lock held) -------------------------------------------------

    def _live(self, name: str, now: float) -> _Entry | None:
        entry = self._data.get(name)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            del self._data[name]
            return None
        return entry

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self._SWEEP_EVERY_S:
            return
        self._last_sweep = now
        dead = [
            k for k, e in self._data.items() if e.expires_at is not None and e.expires_at <= now
        ]
        for name in dead:
            del self._data[name]

    def _set_of(self, name: str, now: float) -> builtins.set[str] | None:
        entry = self._live(name, now)
        if entry is None:
            return None
        if not isinstance(entry.value, set):
            raise TypeError("the key holds a value, not a set")
        return entry.value

    # -- KVStore -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        with self._lock:
            entry = self._live(self._prefix + key, self._clock.now())
            if entry is None:
                return None
            if isinstance(entry.value, set):
                raise TypeError("the key holds a set, not a value")
            return entry.value

    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value``, expiring after ``ttl_s`` seconds when given."""
        with self._lock:
            now = self._clock.now()
            self._sweep(now)
            name = self._prefix + key
            if ttl_s is not None and ttl_s <= 0:
                self._data.pop(name, None)
                return
            expires = None if ttl_s is None else now + ttl_s
            self._data[name] = _Entry(bytes(value), expires)

    def replace(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Overwrite ``key`` only if it exists."""
        with self._lock:
            now = self._clock.now()
            name = self._prefix + key
            if self._live(name, now) is None:
                return False
            if ttl_s is not None and ttl_s <= 0:
                del self._data[name]
                return True
            expires = None if ttl_s is None else now + ttl_s
            self._data[name] = _Entry(bytes(value), expires)
            return True

    def delete(self, *keys: str) -> int:
        """Remove the keys; returns how many existed."""
        with self._lock:
            now = self._clock.now()
            removed = 0
            for key in dict.fromkeys(keys):
                name = self._prefix + key
                if self._live(name, now) is not None:
                    del self._data[name]
                    removed += 1
            return removed

    def incr_window(self, key: str, window_s: float) -> tuple[int, float]:
        """Add 1 to a counter that resets ``window_s`` after its first increment."""
        with self._lock:
            now = self._clock.now()
            self._sweep(now)
            name = self._prefix + key
            entry = self._live(name, now)
            if entry is None:
                entry = _Entry(b"0", None)
                self._data[name] = entry
            if isinstance(entry.value, set):
                raise TypeError("the key holds a set, not a counter")
            count = int(entry.value) + 1
            entry.value = str(count).encode("ascii")
            if entry.expires_at is None:
                entry.expires_at = now + window_s
            return count, max(0.0, entry.expires_at - now)

    def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when absent or without expiry."""
        with self._lock:
            now = self._clock.now()
            entry = self._live(self._prefix + key, now)
            if entry is None or entry.expires_at is None:
                return None
            return entry.expires_at - now

    def sadd(self, key: str, *members: str) -> None:
        """Add members to a set."""
        if not members:
            return
        with self._lock:
            now = self._clock.now()
            self._sweep(now)
            name = self._prefix + key
            current = self._set_of(name, now)
            if current is None:
                self._data[name] = _Entry(set(members))
            else:
                current.update(members)

    def srem(self, key: str, *members: str) -> None:
        """Remove members from a set; an emptied set disappears."""
        with self._lock:
            name = self._prefix + key
            current = self._set_of(name, self._clock.now())
            if current is None:
                return
            current.difference_update(members)
            if not current:
                del self._data[name]

    def smembers(self, key: str) -> builtins.set[str]:
        """The members of a set (a copy)."""
        with self._lock:
            current = self._set_of(self._prefix + key, self._clock.now())
            return set(current) if current else set()

    def expire(self, key: str, ttl_s: float) -> None:
        """Set the expiry of an existing key."""
        with self._lock:
            now = self._clock.now()
            name = self._prefix + key
            entry = self._live(name, now)
            if entry is None:
                return
            if ttl_s <= 0:
                del self._data[name]
            else:
                entry.expires_at = now + ttl_s

    def scan_prefix(self, prefix: str) -> list[str]:
        """Live logical keys starting with ``prefix``."""
        with self._lock:
            now = self._clock.now()
            full = self._prefix + prefix
            names = [n for n in list(self._data) if n.startswith(full)]
            return sorted(n[len(self._prefix) :] for n in names if self._live(n, now) is not None)

    def ping(self) -> bool:
        """Always True."""
        return True

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
