"""ASGI middleware: body limits and early caller checks, security headers, metrics, ids."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumen.api.errors import (
    database_error_response,
    error_response,
    internal_error_response,
    is_openai_path,
    lumen_error_response,
    openai_error_response,
)
from lumen.errors import LumenError
from lumen.observability.logs import request_id_var
from lumen.observability.metrics import Metrics

logger = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


CallerCheck = Callable[[Request, "re.Match[str]"], Awaitable[None]]
"""Raises a :class:`~lumen.errors.LumenError` when the caller may not send this request."""


class CheckBeforeBody:
    """Checks the caller of the routes that take large bodies before a byte of the body is read.

    FastAPI reads and parses a body before it runs a route's dependencies, so an anonymous
    caller could make the server take in hundreds of megabytes only to hear 401. Here the
    check sees the headers only (the request has no body to read) and answers a refusal at
    once; what it lets through is checked again by the route's own dependencies.
    """

    def __init__(self, app: ASGIApp, checks: list[tuple[re.Pattern[str], CallerCheck]]) -> None:
        self.app = app
        self.checks = checks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] == "http" and scope.get("method") == "POST":
            path = scope.get("path", "")
            for pattern, check in self.checks:
                match = pattern.match(path)
                if match is None:
                    continue
                try:
                    await check(Request(scope), match)
                except LumenError as exc:
                    await lumen_error_response(exc)(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with a 413, whether or not Content-Length is sent."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: list[tuple[re.Pattern[str], int]] | None = None,
    ) -> None:
        self.app = app
        self.default_max = max_bytes
        self.larger = larger or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next(
            (size for pattern, size in self.larger if pattern.match(path)), self.default_max
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, receive, send, limit)
                    return
        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:  # once over the limit, the 413 below is the only response
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        message = f"the request body is larger than {limit} bytes"
        if is_openai_path(scope.get("path", "")):
            response = openai_error_response(413, message)
        else:
            response = error_response(413, message)
        await response(scope, receive, send)


class SecurityHeaders:
    """Adds security headers; API responses also get a locked-down CSP and no caching."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if path.startswith("/api/"):
                    if b"content-security-policy" not in present:
                        headers.append((b"content-security-policy", API_CSP))
                    if b"cache-control" not in present:
                        headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


class RequestMetrics:
    """Counts requests and their latency by route template (never by raw path)."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, route_templates: Callable[[], list[str]]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self._route_templates = route_templates
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def template_of(self, path: str) -> str:
        """The route template a path matches (``/api/v1/profiles/{profile_id}``)."""
        if self._patterns is None:
            self._patterns = [
                (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"), t)
                for t in sorted(self._route_templates(), key=len, reverse=True)
            ]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.in_flight.dec()
            template = self.template_of(scope.get("path", ""))
            self.metrics.observe_request(
                scope.get("method", "-"), template, status, time.perf_counter() - started
            )


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestId:
    """Gives each request an id (a well-formed ``X-Request-ID`` from a proxy, or a new one).

    The id goes into every log record written while the request is served and back to the
    client in ``X-Request-ID``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", []) if k == b"x-request-id"), b"")
        text = given.decode("latin-1")
        request_id = text if _REQUEST_ID.match(text) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def add_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, add_header)
        finally:
            request_id_var.reset(token)


class CatchAll:
    """Gives each request an id (``X-Request-ID``) and answers any unhandled error itself.

    The error becomes a 500 (a database outage a 503) whose log line names only the
    exception's type and the request id: no traceback, whose frames and SQL parameters may
    hold patient data. Nothing is re-raised, so the server keeps the connection alive.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = request_id_var.get()  # set by RequestId, which runs outside this middleware
        rid = given or uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if given is None:
                    headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                logger.error(
                    "unhandled %s after the response began (request %s)", type(exc).__name__, rid
                )
                return
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                response = database_error_response(exc, rid, path=scope["path"])
            else:
                response = internal_error_response(exc, rid, path=scope["path"])
            await response(scope, receive, send_with_id)
