"""Metrics computed from the database when Prometheus scrapes: usage and the audit chain.

Usage is counts only (active users, questions by role, questions per active user); no label
carries an id. Both collectors keep their last result for a while, so frequent scrapes cost
one query per interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from lumen.clock import Clock
    from lumen.db.session import Database
    from lumen.services.audit import AuditLog

logger = logging.getLogger(__name__)

WINDOWS = {"day": timedelta(days=1), "month": timedelta(days=30)}
ROLES = ("patient", "pharma", "admin")


class _Cached:
    """A value recomputed at most once per ``ttl_s`` (thread-safe)."""

    def __init__(self, compute: Callable[[], Any], clock: Clock, ttl_s: float) -> None:
        self._compute = compute
        self._clock = clock
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: Any = None
        self._at: float | None = None

    def get(self) -> Any:
        with self._lock:
            now = self._clock.now()
            if self._at is None or now - self._at >= self._ttl_s:
                self._value = self._compute()
                self._at = now
            return self._value


class UsageCollector(Collector):
    """Daily and monthly active users, questions by role, questions per active user."""

    def __init__(self, database: Database, clock: Clock, *, ttl_s: float = 60.0) -> None:
        self._database = database
        self._clock = clock
        self._cached = _Cached(self._query, clock, ttl_s)

    def _query(self) -> dict[str, tuple[int, dict[str, int]]] | None:
        from sqlalchemy import func, select

        from lumen.db.models import Message, User

        now = datetime.fromtimestamp(self._clock.now(), UTC)
        result: dict[str, tuple[int, dict[str, int]]] = {}
        try:
            with self._database.session() as db:
                for window, span in WINDOWS.items():
                    since = now - span
                    active = db.scalar(
                        select(func.count(func.distinct(Message.user_id))).where(
                            Message.created_at >= since
                        )
                    )
                    by_role = db.execute(
                        select(User.role, func.count(Message.id))
                        .join(User, User.id == Message.user_id)
                        .where(Message.created_at >= since)
                        .group_by(User.role)
                    ).all()
                    result[window] = (int(active or 0), {str(r): int(n) for r, n in by_role})
        except Exception as exc:
            logger.warning("usage metrics unavailable: %s", type(exc).__name__)
            return None
        return result

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The usage gauges (none while the database is unreachable)."""
        data = self._cached.get()
        if data is None:
            return
        active = GaugeMetricFamily(
            "lumen_active_users", "Users who asked a question in the window", labels=["window"]
        )
        questions = GaugeMetricFamily(
            "lumen_usage_questions",
            "Questions asked in the window by the asker's role (patient vs pharma)",
            labels=["window", "role"],
        )
        per_user = GaugeMetricFamily(
            "lumen_questions_per_active_user",
            "Questions per active user in the window",
            labels=["window"],
        )
        for window, (users, by_role) in data.items():
            active.add_metric([window], users)
            for role in ROLES:
                questions.add_metric([window, role], by_role.get(role, 0))
            total = sum(by_role.values())
            per_user.add_metric([window], total / users if users else 0.0)
        yield active
        yield questions
        yield per_user


class AuditChainCollector(Collector):
    """Whether the audit chain verifies (1) or not (0), rechecked every ``interval_s``."""

    def __init__(self, audit: AuditLog, clock: Clock, *, interval_s: float = 300.0) -> None:
        self._audit = audit
        self._clock = clock
        self._cached = _Cached(self._verify, clock, interval_s)

    def _verify(self) -> tuple[float, int, float] | None:
        try:
            report = self._audit.verify()
        except Exception as exc:
            logger.warning("audit chain check failed to run: %s", type(exc).__name__)
            return None
        if not report.ok:
            logger.error("audit chain broken at row %s", report.first_bad_seq)
        return (1.0 if report.ok else 0.0, report.checked, self._clock.now())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The chain's state, the rows checked and when."""
        data = self._cached.get()
        if data is None:
            return
        ok, rows, at = data
        yield GaugeMetricFamily("lumen_audit_chain_ok", "1 when the audit chain verifies", ok)
        yield GaugeMetricFamily(
            "lumen_audit_chain_rows", "Audit rows checked by the last verification", rows
        )
        yield GaugeMetricFamily(
            "lumen_audit_chain_checked_timestamp_seconds",
            "When the audit chain was last verified (Unix time)",
            at,
        )
