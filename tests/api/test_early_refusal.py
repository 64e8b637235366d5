"""Routes that take large bodies refuse a caller before reading a byte of the body.

FastAPI reads a body before it runs a route's dependencies; uploads (up to 20 x 20 MB) and
index calls (up to 256 MB) are checked by ``CheckBeforeBody`` from the headers alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message

from lumen.api.index_app import create_index_app
from lumen.services.container import Services

from .conftest import make_pharma, sign_up

DECLARED = 30_000_000  # within the uploads' limit, far over the ordinary 64 kB


@dataclass
class Exchange:
    """What the app read of the body and what it answered."""

    body_reads: int = 0
    status: int = 0
    body: bytes = b""


def post(app: ASGIApp, path: str, headers: dict[str, str]) -> Exchange:
    """POST a 30 MB multipart body, counting how much of it the app asks for."""
    exchange = Exchange()
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw_headers += [
        (b"content-type", b"multipart/form-data; boundary=lumen"),
        (b"content-length", str(DECLARED).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    chunk = b"x" * 65_536

    async def receive() -> Message:
        exchange.body_reads += 1
        more = exchange.body_reads * len(chunk) < DECLARED
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return exchange


def test_uploads_check_the_caller_before_the_files(client: TestClient, services: Services) -> None:
    patient = sign_up(client, "patient@example.org")
    pharma = make_pharma(services, sign_up(client, "pharma@example.org"), "acme")
    path = "/api/v1/collections/acme/uploads"

    anonymous = post(client.app, path, {})
    assert (anonymous.status, anonymous.body_reads) == (401, 0)
    assert b'"code":"unauthorized"' in anonymous.body or b"sign in" in anonymous.body
    forged = post(client.app, path, {"Authorization": "Bearer not-a-session"})
    assert (forged.status, forged.body_reads) == (401, 0)
    refused = post(client.app, path, patient.headers)
    assert (refused.status, refused.body_reads) == (403, 0)
    elsewhere = post(client.app, "/api/v1/collections/globex/uploads", pharma.headers)
    assert (elsewhere.status, elsewhere.body_reads) == (404, 0)
    # a cookie session needs its CSRF header here as on the route
    cookie = {"Cookie": f"{services.settings.auth.cookie_name}={pharma.token}"}
    assert post(client.app, path, cookie).status == 403

    # The owner's upload is read (this body is no valid form: a 4xx once read, never a 500).
    allowed = post(client.app, path, pharma.headers)
    assert allowed.body_reads > 0
    assert 400 <= allowed.status < 500, allowed.body


class _UntouchedStore:
    """The index app's store; no refused call may reach it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the store was used ({name}) by a refused call")

    def close(self) -> None:
        """Nothing to release."""


def test_the_index_server_checks_its_token_before_the_call() -> None:
    app = create_index_app(_UntouchedStore(), token="s3cret-index-token", loopback_only=True)  # type: ignore[arg-type]
    path = "/internal/index/search"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = post(app, path, headers)
        assert (refused.status, refused.body_reads) == (401, 0)
        assert b"index token" in refused.body
