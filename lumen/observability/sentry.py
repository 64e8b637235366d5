"""Optional error reporting with sentry-sdk (the ``sentry`` extra), PHI scrubbed first.

Nothing leaves the process unscrubbed: ``before_send`` and ``before_send_transaction`` mask
personal data in every string of an event (messages, exception values, breadcrumbs, extra,
local variables) with the log redactor, and drop request bodies, cookies, headers, query
strings and the user block outright.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lumen.errors import MissingExtraError

if TYPE_CHECKING:
    from lumen.safety.redact import Redactor
    from lumen.settings import ObservabilitySettings

logger = logging.getLogger(__name__)

DROPPED_REQUEST_KEYS = ("data", "cookies", "headers", "query_string", "env")


def _scrub(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, redactor) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event with personal data masked and request payloads and the user removed."""
    from lumen.safety.redact import Redactor

    event = dict(event)
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {k: v for k, v in request.items() if k not in DROPPED_REQUEST_KEYS}
    scrubbed: dict[str, Any] = _scrub(event, Redactor())
    return scrubbed


def init_sentry(settings: ObservabilitySettings, *, transport: Any = None) -> bool:
    """Start sentry-sdk when a DSN is set; False when none is. ``transport``: tests only."""
    if settings.sentry_dsn is None:
        return False
    try:
        import sentry_sdk
    except ImportError as exc:
        raise MissingExtraError("sentry-sdk", "sentry") from exc
    options: dict[str, Any] = {
        "dsn": settings.sentry_dsn.get_secret_value(),
        "environment": settings.sentry_environment,
        "traces_sample_rate": settings.sentry_traces_sample_rate,
        "send_default_pii": False,
        "include_local_variables": False,
        "before_send": scrub_event,
        "before_send_transaction": scrub_event,
        "max_request_body_size": "never",
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    logger.info("error reporting to Sentry is on")
    return True
