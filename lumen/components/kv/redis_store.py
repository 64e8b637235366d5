"""The Redis store: shared by every worker of the service (the production profile).

Expiry here runs on the Redis server's real clock; the injected clock is accepted for
symmetry with :class:`~lumen.components.kv.memory.MemoryKV` but this store never needs "now"
(callers that compare timestamps, such as the session store, use their own clock).
"""

from __future__ import annotations

import builtins
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from lumen.clock import Clock
from lumen.components.kv.base import KVUnavailable
from lumen.errors import MissingExtraError

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

T = TypeVar("T")

# INCR, then start the window on the first increment (PTTL -1: no expiry yet). One script,
# so concurrent callers never see a counter without its expiry.
_INCR_WINDOW = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisKV:
    """A :class:`~lumen.components.kv.base.KVStore` on a Redis server (redis-py)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "lumen:",
        timeout_s: float = 2.0,
        clock: Clock | None = None,
    ) -> None:
        try:
            import redis as redis_module
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise MissingExtraError("redis", "service") from None
        self._redis = redis_module
        self._prefix = prefix
        self._clock = clock  # unused: Redis expires keys on its own clock
        try:
            self._client: redis.Redis = redis_module.Redis.from_url(
                url,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                # One immediate retry covers a pooled connection dropped by a server restart
                # without multiplying the wait when the server is really gone.
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
            )
        except ValueError:
            raise KVUnavailable("the session store URL is not valid") from None
        self._incr_window = self._client.register_script(_INCR_WINDOW)

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (self._redis.RedisError, OSError) as exc:
            logger.warning("redis %s failed: %s", operation, type(exc).__name__)
            raise KVUnavailable() from None

    def _call(self, operation: str, fn: Callable[[], Any]) -> Any:
        with self._guard(operation):
            return fn()

    def _name(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> bytes | None:
        """The value, or None."""
        value = self._call("get", lambda: self._client.get(self._name(key)))
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` (SET with PX)."""
        name = self._name(key)
        if ttl_s is not None and ttl_s <= 0:
            self._call("delete", lambda: self._client.delete(name))
            return
        px = None if ttl_s is None else _ms(ttl_s)
        self._call("set", lambda: self._client.set(name, value, px=px))

    def replace(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Overwrite only if the key exists (SET XX)."""
        name = self._name(key)
        if ttl_s is not None and ttl_s <= 0:
            return bool(self._call("delete", lambda: self._client.delete(name)))
        px = None if ttl_s is None else _ms(ttl_s)
        return bool(self._call("set", lambda: self._client.set(name, value, px=px, xx=True)))

    def delete(self, *keys: str) -> int:
        """Remove the keys; returns how many existed."""
        if not keys:
            return 0
        names = [self._name(k) for k in keys]
        return int(self._call("delete", lambda: self._client.delete(*names)))

    def incr_window(self, key: str, window_s: float) -> tuple[int, float]:
        """INCR and, on the first increment, PEXPIRE, atomically (a Lua script)."""
        name = self._name(key)
        result = self._call(
            "incr_window", lambda: self._incr_window(keys=[name], args=[_ms(window_s)])
        )
        count, ttl_ms = result
        return int(count), max(0.0, int(ttl_ms) / 1000.0)

    def ttl(self, key: str) -> float | None:
        """Seconds until expiry from PTTL; None when absent or persistent."""
        ttl_ms = int(self._call("ttl", lambda: self._client.pttl(self._name(key))))
        return None if ttl_ms < 0 else ttl_ms / 1000.0

    def sadd(self, key: str, *members: str) -> None:
        """SADD."""
        if members:
            self._call("sadd", lambda: self._client.sadd(self._name(key), *members))

    def srem(self, key: str, *members: str) -> None:
        """SREM."""
        if members:
            self._call("srem", lambda: self._client.srem(self._name(key), *members))

    def smembers(self, key: str) -> builtins.set[str]:
        """SMEMBERS, decoded."""
        raw = self._call("smembers", lambda: self._client.smembers(self._name(key)))
        return {m.decode("utf-8") if isinstance(m, bytes) else str(m) for m in raw}

    def expire(self, key: str, ttl_s: float) -> None:
        """PEXPIRE (deletes the key when ``ttl_s`` <= 0)."""
        name = self._name(key)
        if ttl_s <= 0:
            self._call("delete", lambda: self._client.delete(name))
        else:
            self._call("expire", lambda: self._client.pexpire(name, _ms(ttl_s)))

    def scan_prefix(self, prefix: str) -> list[str]:
        """SCAN for ``<namespace><prefix>*``."""
        pattern = _glob_escape(self._prefix + prefix) + "*"
        start = len(self._prefix)

        def scan() -> list[str]:
            found = set()
            for name in self._client.scan_iter(match=pattern, count=500):
                text = name.decode("utf-8") if isinstance(name, bytes) else str(name)
                found.add(text[start:])
            return sorted(found)

        result: list[str] = self._call("scan", scan)
        return result

    def ping(self) -> bool:
        """PING; False when the server does not answer."""
        try:
            return bool(self._client.ping())
        except (self._redis.RedisError, OSError) as exc:
            logger.warning("redis ping failed: %s", type(exc).__name__)
            return False

    def close(self) -> None:
        """Close the connection pool."""
        try:
            self._client.close()
        except (self._redis.RedisError, OSError):
            logger.debug("closing the redis client failed", exc_info=True)
