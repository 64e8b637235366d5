"""Fixed-window rate limits, and the sign-in throttle built on them."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from lumen.components.kv.base import KVStore


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may go ahead, and when to retry if not."""

    allowed: bool
    count: int
    limit: int
    retry_after_s: int

    @property
    def remaining(self) -> int:
        """Requests left in this window."""
        return max(0, self.limit - self.count)


def _retry_after(reset_in_s: float | None, window_s: int) -> int:
    if reset_in_s is None:
        return max(1, window_s)
    return max(1, math.ceil(reset_in_s))


class RateLimiter:
    """Counts requests per bucket in fixed windows (``rate:<bucket>`` in the store)."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv

    @staticmethod
    def _key(bucket: str) -> str:
        return f"rate:{bucket}"

    def hit(self, bucket: str, limit: int, window_s: int) -> RateDecision:
        """Count one request; allowed while the count stays within ``limit``."""
        count, reset_in = self._kv.incr_window(self._key(bucket), window_s)
        allowed = count <= limit
        retry = 0 if allowed else _retry_after(reset_in, window_s)
        return RateDecision(allowed=allowed, count=count, limit=limit, retry_after_s=retry)

    def peek(self, bucket: str, limit: int, window_s: int) -> RateDecision:
        """Whether one more request would be allowed, without counting it."""
        key = self._key(bucket)
        raw = self._kv.get(key)
        try:
            count = int(raw) if raw is not None else 0
        except ValueError:
            count = 0
        allowed = count < limit
        retry = 0 if allowed else _retry_after(self._kv.ttl(key), window_s)
        return RateDecision(allowed=allowed, count=count, limit=limit, retry_after_s=retry)

    def reset(self, bucket: str) -> None:
        """Forget the bucket's count."""
        self._kv.delete(self._key(bucket))


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class LoginThrottle:
    """Failed sign-ins per account and per client address, each with its own limit.

    Bucket names hold SHA-256 digests, so neither e-mail addresses nor client addresses
    appear in the store in clear text.
    """

    def __init__(
        self, limiter: RateLimiter, *, per_account: int, per_ip: int, window_s: int
    ) -> None:
        self._limiter = limiter
        self._per_account = per_account
        self._per_ip = per_ip
        self._window_s = window_s

    @staticmethod
    def _account_bucket(account: str) -> str:
        return "login:account:" + _hashed(account.strip().lower())

    @staticmethod
    def _ip_bucket(ip: str) -> str:
        return "login:ip:" + _hashed(ip)

    def check(self, account: str, ip: str | None) -> RateDecision:
        """Whether a sign-in attempt may proceed; the more restrictive of the two limits."""
        decisions = [
            self._limiter.peek(self._account_bucket(account), self._per_account, self._window_s)
        ]
        if ip:
            decisions.append(self._limiter.peek(self._ip_bucket(ip), self._per_ip, self._window_s))
        denied = [d for d in decisions if not d.allowed]
        if denied:
            return max(denied, key=lambda d: d.retry_after_s)
        return min(decisions, key=lambda d: d.remaining)

    def record_failure(self, account: str, ip: str | None) -> None:
        """Count a failed attempt against the account and the address."""
        self._limiter.hit(self._account_bucket(account), self._per_account, self._window_s)
        if ip:
            self._limiter.hit(self._ip_bucket(ip), self._per_ip, self._window_s)

    def record_success(self, account: str) -> None:
        """A correct password clears the account's count (the address keeps its own)."""
        self._limiter.reset(self._account_bucket(account))
