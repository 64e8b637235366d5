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


def _retry_after(reset_in_s: float | None, window_s: float) -> int:
    if reset_in_s is None:
        return max(1, math.ceil(window_s))
    return max(1, math.ceil(reset_in_s))


class RateLimiter:
    """Counts requests per bucket in fixed windows (``rate:<bucket>`` in the store)."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv

    @staticmethod
    def _key(bucket: str) -> str:
        return f"rate:{bucket}"

    def hit(self, bucket: str, limit: int, window_s: float) -> RateDecision:
        """Count one request; allowed while the count stays within ``limit``."""
        count, reset_in = self._kv.incr_window(self._key(bucket), window_s)
        allowed = count <= limit
        retry = 0 if allowed else _retry_after(reset_in, window_s)
        return RateDecision(allowed=allowed, count=count, limit=limit, retry_after_s=retry)

    def peek(self, bucket: str, limit: int, window_s: float) -> RateDecision:
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
    """Sign-in attempts, reserved before the password check.

    * Per account and client address: each attempt takes a slot first (an atomic INCR), so
      that concurrent attempts can never run more than ``per_account`` password checks per
      window; a correct password frees the slots. Other addresses (a shared NAT) are not
      blocked by someone else's failures on the account.
    * Per address (any account) and per account (any address): past ``per_ip`` failures
      from the address, or ``4 x per_account`` failures on the account, one attempt is let
      through per delay, the delay doubling with each further failure up to ``max_delay_s``;
      a correct password among them still signs in.

    Bucket names hold SHA-256 digests, so neither e-mail addresses nor client addresses
    appear in the store in clear text.
    """

    ACCOUNT_FAILURE_FACTOR = 4

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        per_account: int,
        per_ip: int,
        window_s: int,
        delay_s: float = 1.0,
        max_delay_s: float = 60.0,
    ) -> None:
        self._limiter = limiter
        self._per_account = per_account
        self._per_ip = per_ip
        self._window_s = window_s
        self._delay_s = delay_s
        self._max_delay_s = max_delay_s

    @staticmethod
    def _normal(account: str) -> str:
        return account.strip().lower()

    def _attempt_bucket(self, account: str, ip: str | None) -> str:
        return "login:attempts:" + _hashed(self._normal(account) + "\n" + (ip or "-"))

    def _failure_buckets(self, account: str, ip: str | None) -> list[tuple[str, int]]:
        buckets = [
            (
                "login:failures:account:" + _hashed(self._normal(account)),
                self._per_account * self.ACCOUNT_FAILURE_FACTOR,
            )
        ]
        if ip:
            buckets.append(("login:failures:ip:" + _hashed(ip), self._per_ip))
        return buckets

    def reserve(self, account: str, ip: str | None) -> RateDecision:
        """Take a slot for one attempt; not allowed past a limit or inside a delay."""
        for bucket, threshold in self._failure_buckets(account, ip):
            failures = self._limiter.peek(bucket, threshold, self._window_s).count
            over = failures - threshold
            if over < 0:
                continue
            delay = min(self._max_delay_s, self._delay_s * 2 ** min(over, 30))
            gate = self._limiter.hit(bucket + ":gate", 1, delay)
            if not gate.allowed:
                return gate
        return self._limiter.hit(
            self._attempt_bucket(account, ip), self._per_account, self._window_s
        )

    def record_failure(self, account: str, ip: str | None) -> None:
        """Count a failed attempt against the account and the address (its slot stays taken)."""
        for bucket, threshold in self._failure_buckets(account, ip):
            self._limiter.hit(bucket, threshold, self._window_s)

    def record_success(self, account: str, ip: str | None) -> None:
        """A correct sign-in frees the account's slots from this address and its failures."""
        self._limiter.reset(self._attempt_bucket(account, ip))
        self._limiter.reset(self._failure_buckets(account, None)[0][0])
