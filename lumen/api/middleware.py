"""ASGI middleware: request size limit, security headers, request metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumen.api.errors import error_response
from lumen.observability.metrics import Metrics

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


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
        response = error_response(413, f"the request body is larger than {limit} bytes")
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

        try:
            await self.app(scope, receive, record_status)
        finally:
            template = self.template_of(scope.get("path", ""))
            self.metrics.observe_request(
                scope.get("method", "-"), template, status, time.perf_counter() - started
            )
