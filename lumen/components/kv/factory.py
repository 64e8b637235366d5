"""Build the configured key-value store."""

from __future__ import annotations

import logging

from lumen.clock import Clock
from lumen.components.kv.base import KVStore
from lumen.settings import KVSettings

logger = logging.getLogger(__name__)


def open_kv(settings: KVSettings, clock: Clock) -> KVStore:
    """The store named by ``settings.backend`` (Redis connects lazily, on first use)."""
    if settings.backend == "redis":
        from lumen.components.kv.redis_store import RedisKV

        logger.info("key-value store: redis (prefix %s)", settings.prefix)
        return RedisKV(
            settings.url, prefix=settings.prefix, timeout_s=settings.timeout_s, clock=clock
        )
    from lumen.components.kv.memory import MemoryKV

    logger.info("key-value store: in-process memory (a single worker only)")
    return MemoryKV(clock, prefix=settings.prefix)
