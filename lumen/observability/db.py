"""Database query time: SQLAlchemy cursor events feed a histogram."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Histogram

_STARTED = "lumen_query_started"


def instrument_engine(engine: Any, histogram: Histogram) -> None:
    """Observe every statement ``engine`` runs in ``histogram`` (seconds)."""
    from sqlalchemy import event

    def before(
        conn: Any, _cursor: Any, _statement: Any, _params: Any, _ctx: Any, _many: Any
    ) -> None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def after(
        conn: Any, _cursor: Any, _statement: Any, _params: Any, _ctx: Any, _many: Any
    ) -> None:
        started = conn.info.get(_STARTED)
        if started:
            histogram.observe(time.perf_counter() - started.pop())

    def failed(context: Any) -> None:
        started = context.connection.info.get(_STARTED) if context.connection else None
        if started:
            histogram.observe(time.perf_counter() - started.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
