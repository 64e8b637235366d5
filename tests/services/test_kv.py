from __future__ import annotations

import time

import pytest

from lumen.clock import ManualClock
from lumen.components.kv import KVStore, KVUnavailable, MemoryKV, open_kv
from lumen.errors import ComponentError
from lumen.settings import KVSettings


def _pass_time(kv: KVStore, clock: ManualClock, seconds: float) -> None:
    """Memory expiry follows the clock; Redis expiry follows real time."""
    if isinstance(kv, MemoryKV):
        clock.advance(seconds)
    else:
        time.sleep(seconds)


def test_get_set_delete(kv: KVStore) -> None:
    assert kv.get("a") is None
    kv.set("a", b"one")
    kv.set("b", b"\x00\xff")
    assert kv.get("a") == b"one"
    assert kv.get("b") == b"\x00\xff"
    assert kv.ttl("a") is None
    assert kv.delete("a", "b", "missing") == 2
    assert kv.get("a") is None
    assert kv.delete() == 0


def test_set_with_ttl_expires(kv: KVStore, clock: ManualClock) -> None:
    kv.set("t", b"x", ttl_s=0.5)
    ttl = kv.ttl("t")
    assert ttl is not None
    assert 0 < ttl <= 0.5
    _pass_time(kv, clock, 0.6)
    assert kv.get("t") is None
    assert kv.ttl("t") is None
    kv.set("gone", b"x", ttl_s=0)
    assert kv.get("gone") is None


def test_replace_only_existing(kv: KVStore) -> None:
    assert kv.replace("r", b"1", ttl_s=10) is False
    assert kv.get("r") is None
    kv.set("r", b"1")
    assert kv.replace("r", b"2", ttl_s=10) is True
    assert kv.get("r") == b"2"
    ttl = kv.ttl("r")
    assert ttl is not None
    assert 9 < ttl <= 10


def test_incr_window_counts_and_resets(kv: KVStore, clock: ManualClock) -> None:
    assert kv.incr_window("c", 1)[0] == 1
    count, reset_in = kv.incr_window("c", 1)
    assert count == 2
    assert 0 < reset_in <= 1
    assert kv.get("c") == b"2"
    # The window starts at the first increment; later ones do not extend it.
    _pass_time(kv, clock, 0.5)
    count, reset_in = kv.incr_window("c", 1)
    assert count == 3
    assert reset_in <= 0.55
    _pass_time(kv, clock, 0.6)
    count, reset_in = kv.incr_window("c", 1)
    assert count == 1
    assert reset_in == pytest.approx(1.0, abs=0.05)


def test_sets(kv: KVStore, clock: ManualClock) -> None:
    assert kv.smembers("s") == set()
    kv.sadd("s", "a", "b")
    kv.sadd("s", "b", "c")
    kv.sadd("s")
    assert kv.smembers("s") == {"a", "b", "c"}
    kv.srem("s", "a", "zz")
    assert kv.smembers("s") == {"b", "c"}
    kv.expire("s", 100)
    ttl = kv.ttl("s")
    assert ttl is not None
    assert 99 < ttl <= 100
    kv.sadd("s", "d")
    assert kv.ttl("s") is not None  # adding keeps the expiry
    kv.srem("s", "b", "c", "d")
    assert kv.smembers("s") == set()
    assert kv.scan_prefix("s") == []
    kv.expire("missing", 10)
    assert kv.ttl("missing") is None


def test_expire_zero_deletes(kv: KVStore) -> None:
    kv.set("k", b"v")
    kv.expire("k", 0)
    assert kv.get("k") is None


def test_scan_prefix(kv: KVStore) -> None:
    kv.set("session:1", b"x")
    kv.set("session:2", b"x")
    kv.set("sessionz", b"x")
    kv.sadd("user_sessions:u", "1")
    kv.set("weird*[key]?", b"x")
    assert kv.scan_prefix("session:") == ["session:1", "session:2"]
    assert kv.scan_prefix("weird*[") == ["weird*[key]?"]
    assert set(kv.scan_prefix("")) == {
        "session:1",
        "session:2",
        "sessionz",
        "user_sessions:u",
        "weird*[key]?",
    }


def test_ping(kv: KVStore) -> None:
    assert kv.ping() is True


def test_namespace_is_applied(clock: ManualClock) -> None:
    a = MemoryKV(clock, prefix="a:")
    a.set("k", b"1")
    assert a.scan_prefix("") == ["k"]
    assert a.get("a:k") is None


def test_memory_purges_expired_keys(clock: ManualClock) -> None:
    kv = MemoryKV(clock)
    for i in range(10):
        kv.set(f"k{i}", b"x", ttl_s=1)
    clock.advance(120)
    kv.set("fresh", b"y")
    assert kv._data.keys() == {"lumen:fresh"}


def test_dead_redis_raises_unavailable(clock: ManualClock) -> None:
    pytest.importorskip("redis")
    from lumen.components.kv.redis_store import RedisKV

    kv = RedisKV("redis://127.0.0.1:1/0", prefix="lumentest:", timeout_s=0.2, clock=clock)
    started = time.monotonic()
    with pytest.raises(KVUnavailable) as caught:
        kv.get("x")
    assert isinstance(caught.value, ComponentError)
    assert "127.0.0.1" not in str(caught.value)
    with pytest.raises(KVUnavailable):
        kv.incr_window("x", 10)
    with pytest.raises(KVUnavailable):
        kv.smembers("x")
    assert kv.ping() is False
    assert time.monotonic() - started < 5
    kv.close()


def test_open_kv(clock: ManualClock) -> None:
    memory = open_kv(KVSettings(backend="memory", prefix="p:"), clock)
    assert isinstance(memory, MemoryKV)
    pytest.importorskip("redis")
    from lumen.components.kv.redis_store import RedisKV

    remote = open_kv(KVSettings(backend="redis", url="redis://127.0.0.1:1/0", timeout_s=0.2), clock)
    assert isinstance(remote, RedisKV)
    remote.close()


def test_missing_redis_package(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    import sys

    from lumen.components.kv.redis_store import RedisKV
    from lumen.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(MissingExtraError, match="service"):
        RedisKV("redis://127.0.0.1:6379/0", clock=clock)
