"""KV fixtures: every store test runs against MemoryKV and a real Redis server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from lumen.clock import ManualClock
from lumen.components.kv.base import KVStore
from lumen.components.kv.memory import MemoryKV

REDIS_URL = os.environ.get("LUMEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _redis_kv(clock: ManualClock) -> Iterator[KVStore]:
    try:
        import redis
    except ImportError:
        pytest.skip("the 'redis' package is not installed (Lumen's 'service' extra)")
    from lumen.components.kv.redis_store import RedisKV

    probe = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        probe.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis server at {REDIS_URL} ({type(exc).__name__})")
    prefix = f"lumentest:{uuid.uuid4().hex}:"
    store = RedisKV(REDIS_URL, prefix=prefix, timeout_s=2.0, clock=clock)
    try:
        yield store
    finally:
        leftovers = list(probe.scan_iter(match=prefix + "*"))
        if leftovers:
            probe.delete(*leftovers)
        store.close()
        probe.close()


@pytest.fixture(params=["memory", "redis"])
def kv(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[KVStore]:
    if request.param == "memory":
        store = MemoryKV(clock, prefix="lumentest:")
        yield store
        store.close()
    else:
        yield from _redis_kv(clock)


@pytest.fixture
def is_redis(request: pytest.FixtureRequest) -> bool:
    return "redis" in request.node.callspec.params.get("kv", "")
