from __future__ import annotations

import hashlib
import time

import pytest

from lumen.clock import ManualClock
from lumen.components.kv import KVStore, KVUnavailable, MemoryKV
from lumen.services.ratelimit import LoginThrottle, RateDecision, RateLimiter


def test_hit_allows_limit_then_denies(kv: KVStore) -> None:
    limiter = RateLimiter(kv)
    for i in range(1, 4):
        decision = limiter.hit("ask:user:u1", 3, 60)
        assert decision == RateDecision(allowed=True, count=i, limit=3, retry_after_s=0)
    denied = limiter.hit("ask:user:u1", 3, 60)
    assert not denied.allowed
    assert denied.count == 4
    assert 0 < denied.retry_after_s <= 60
    assert limiter.hit("ask:user:u2", 3, 60).allowed  # buckets are independent
    assert kv.scan_prefix("rate:") == ["rate:ask:user:u1", "rate:ask:user:u2"]


def test_window_resets(kv: KVStore, clock: ManualClock) -> None:
    limiter = RateLimiter(kv)
    assert limiter.hit("b", 1, 1).allowed
    denied = limiter.hit("b", 1, 1)
    assert not denied.allowed
    assert denied.retry_after_s == 1
    if isinstance(kv, MemoryKV):
        clock.advance(1.1)
    else:
        time.sleep(1.1)
    assert limiter.hit("b", 1, 1) == RateDecision(True, 1, 1, 0)


def test_peek_does_not_count(kv: KVStore) -> None:
    limiter = RateLimiter(kv)
    assert limiter.peek("p", 2, 60) == RateDecision(True, 0, 2, 0)
    limiter.hit("p", 2, 60)
    assert limiter.peek("p", 2, 60) == RateDecision(True, 1, 2, 0)
    limiter.hit("p", 2, 60)
    peeked = limiter.peek("p", 2, 60)
    assert not peeked.allowed
    assert peeked.count == 2
    assert 0 < peeked.retry_after_s <= 60
    assert limiter.peek("p", 2, 60).count == 2
    limiter.reset("p")
    assert limiter.peek("p", 2, 60) == RateDecision(True, 0, 2, 0)


def _throttle(kv: KVStore) -> LoginThrottle:
    return LoginThrottle(RateLimiter(kv), per_account=3, per_ip=5, window_s=900)


def test_throttle_per_account(kv: KVStore) -> None:
    throttle = _throttle(kv)
    for i in range(3):
        assert throttle.check("Ann@Example.org", f"198.51.100.{i}").allowed
        throttle.record_failure("ann@example.org", f"198.51.100.{i}")
    # Case and the address do not matter: the account itself is throttled.
    decision = throttle.check(" ANN@example.org ", "198.51.100.99")
    assert not decision.allowed
    assert decision.limit == 3
    assert 0 < decision.retry_after_s <= 900
    assert throttle.check("bob@example.org", "198.51.100.99").allowed


def test_throttle_per_ip(kv: KVStore) -> None:
    throttle = _throttle(kv)
    for i in range(5):
        throttle.record_failure(f"user{i}@example.org", "192.0.2.7")
    decision = throttle.check("fresh@example.org", "192.0.2.7")
    assert not decision.allowed
    assert decision.limit == 5
    assert decision.retry_after_s > 0
    assert throttle.check("fresh@example.org", "192.0.2.8").allowed
    assert throttle.check("fresh@example.org", None).allowed


def test_success_resets_account_only(kv: KVStore) -> None:
    throttle = _throttle(kv)
    for _ in range(3):
        throttle.record_failure("ann@example.org", "192.0.2.7")
    assert not throttle.check("ann@example.org", None).allowed
    throttle.record_success("Ann@Example.org")
    assert throttle.check("ann@example.org", None).allowed
    for _ in range(2):
        throttle.record_failure("carl@example.org", "192.0.2.7")
    assert not throttle.check("ann@example.org", "192.0.2.7").allowed  # the IP kept its count


def test_throttle_reports_most_restrictive(kv: KVStore) -> None:
    throttle = _throttle(kv)
    throttle.record_failure("ann@example.org", "192.0.2.7")
    throttle.record_failure("ann@example.org", "192.0.2.7")
    decision = throttle.check("ann@example.org", "192.0.2.7")
    assert decision.allowed
    assert decision.limit == 3
    assert decision.count == 2


def test_no_clear_text_identifiers(kv: KVStore) -> None:
    throttle = _throttle(kv)
    throttle.record_failure("Ann@Example.org", "192.0.2.7")
    keys = kv.scan_prefix("")
    joined = " ".join(keys)
    assert "ann" not in joined.lower()
    assert "192.0.2.7" not in joined
    digest = hashlib.sha256(b"ann@example.org").hexdigest()
    assert f"rate:login:account:{digest}" in keys


def test_dead_store_raises(clock: ManualClock) -> None:
    pytest.importorskip("redis")
    from lumen.components.kv.redis_store import RedisKV

    dead = RedisKV("redis://127.0.0.1:1/0", prefix="lumentest:", timeout_s=0.2, clock=clock)
    with pytest.raises(KVUnavailable):
        RateLimiter(dead).hit("b", 1, 60)
    with pytest.raises(KVUnavailable):
        _throttle(dead).check("ann@example.org", "192.0.2.7")
    dead.close()
