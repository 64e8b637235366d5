"""Logging set-up that keeps patient data out of every handler Lumen configures."""

from __future__ import annotations

import copy
import logging
from typing import Any

REDACT_FILTER = "lumen_redact"


def redact_all_handlers() -> int:
    """Attach a redacting filter to every handler of every logger (root included).

    Loggers that do not propagate (uvicorn's, SQLAlchemy's ``echo`` handler) have handlers of
    their own that a filter on the root logger never sees. Returns how many handlers got one.
    """
    from lumen.safety.redact import RedactingFilter

    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    added = 0
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
                added += 1
    return added


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's default logging configuration with the redacting filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})[REDACT_FILTER] = {"()": "lumen.safety.redact.RedactingFilter"}
    for handler in config.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), REDACT_FILTER]
    return config
