"""Process logging for the service: text or JSON lines, each with its request id, PHI-redacted.

Every handler gets the redacting filter (:mod:`lumen.safety.redact`): a record's message,
arguments and traceback are masked before any formatter sees them.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumen.settings import LoggingSettings

request_id_var: ContextVar[str | None] = ContextVar("lumen_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
NOISY_LOGGERS = ("httpx", "urllib3", "onnxruntime", "multipart")


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from the request being served ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops."""
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def configure_service_logging(settings: LoggingSettings) -> logging.Handler:
    """Route every logger (uvicorn's too) to one stderr handler in the configured format."""
    from lumen.safety.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    # The request id first, then the redaction: both run before any formatting.
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter() if settings.format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(
            max(logging.getLevelName(settings.level), logging.WARNING)
        )
    return handler
