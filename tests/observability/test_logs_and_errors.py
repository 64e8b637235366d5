"""JSON logs with request ids and redaction; Sentry events scrubbed before they leave."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from lumen.api.middleware import RequestId
from lumen.observability.logs import configure_service_logging
from lumen.observability.sentry import init_sentry, scrub_event
from lumen.settings import LoggingSettings, ObservabilitySettings

CANARY = "jane.canary@example.com"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """The service's JSON log handler, writing to a buffer; the old handlers restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_service_logging(LoggingSettings(format="json", level="INFO"))
    buffer = io.StringIO()
    handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer, handler
    for current in list(root.handlers):
        root.removeHandler(current)
    for old in saved[0]:
        root.addHandler(old)
    root.setLevel(saved[1])


def app_that_logs() -> Starlette:
    async def endpoint(request: Request) -> PlainTextResponse:
        logging.getLogger("lumen.test").warning("question from %s failed", CANARY)
        try:
            raise ValueError(f"cannot reach {CANARY}")
        except ValueError:
            logging.getLogger("lumen.test").exception("boom")
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", endpoint)], middleware=[])


def test_log_lines_are_json_with_the_request_id_and_no_phi(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    buffer, _ = captured
    client = TestClient(RequestId(app_that_logs()))
    given = client.get("/", headers={"X-Request-ID": "req-0123456789"})
    assert given.headers["x-request-id"] == "req-0123456789"
    fresh = client.get("/", headers={"X-Request-ID": "bad id\nwith newline"})
    assert fresh.headers["x-request-id"] != "bad id\nwith newline"
    assert len(fresh.headers["x-request-id"]) == 32
    logging.getLogger("lumen.test").warning("outside a request")

    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    ids = [r["request_id"] for r in records if r["logger"] == "lumen.test"]
    assert ids == [
        "req-0123456789",
        "req-0123456789",
        fresh.headers["x-request-id"],
        fresh.headers["x-request-id"],
        "-",
    ]
    assert CANARY not in buffer.getvalue()
    assert records[0]["message"] == "question from [EMAIL] failed"
    assert "[EMAIL]" in records[1]["exception"]
    assert "ValueError" in records[1]["exception"]


def test_text_format_carries_the_request_id_too(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    buffer, handler = captured
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    TestClient(RequestId(app_that_logs())).get("/", headers={"X-Request-ID": "abcdefgh-1234"})
    first = buffer.getvalue().splitlines()[0]
    assert first == "abcdefgh-1234 question from [EMAIL] failed"


def sample_event() -> dict[str, Any]:
    return {
        "message": f"Patient {CANARY} asked about metformin",
        "exception": {"values": [{"type": "ValueError", "value": f"bad address {CANARY}"}]},
        "breadcrumbs": {"values": [{"message": f"login {CANARY}", "category": "auth"}]},
        "extra": {"nested": [{"email": CANARY}], "count": 3},
        "user": {"email": CANARY, "id": "u-1"},
        "request": {
            "url": "https://lumen/api/v1/me",
            "method": "POST",
            "data": {"email": CANARY},
            "cookies": {"lumen_session": "secret"},
            "headers": {"Authorization": "Bearer t"},
            "query_string": f"email={CANARY}",
        },
    }


def test_the_scrubber_removes_phi_from_every_part_of_an_event() -> None:
    scrubbed = scrub_event(sample_event(), {})
    text = json.dumps(scrubbed)
    assert CANARY not in text
    assert "secret" not in text
    assert "Bearer" not in text
    assert "user" not in scrubbed
    assert scrubbed["request"] == {"url": "https://lumen/api/v1/me", "method": "POST"}
    assert scrubbed["extra"]["count"] == 3
    assert scrubbed["exception"]["values"][0]["value"] == "bad address [EMAIL]"


def test_sentry_sends_only_scrubbed_events() -> None:
    sentry_sdk = pytest.importorskip("sentry_sdk")
    from sentry_sdk.transport import Transport

    sent: list[Any] = []

    class Capture(Transport):  # stands in for the network: nothing leaves the process
        def capture_envelope(self, envelope: Any) -> None:
            sent.append(envelope)

    assert not init_sentry(ObservabilitySettings())  # no DSN: off
    settings = ObservabilitySettings(sentry_dsn="https://public@sentry.invalid/1")
    try:
        assert init_sentry(settings, transport=Capture)
        try:
            raise RuntimeError(f"lookup failed for {CANARY}")
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.capture_message(f"note about {CANARY}")
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()  # back to a disabled client
    payloads = [
        item.payload.json for envelope in sent for item in envelope.items if item.payload.json
    ]
    assert len(payloads) == 2
    text = json.dumps(payloads)
    assert CANARY not in text
    assert "lookup failed for [EMAIL]" in text
    assert "note about [EMAIL]" in text


def test_an_unreadable_certificate_is_a_clear_input_error(tmp_path: Path) -> None:
    from lumen.errors import InputError
    from lumen.observability.setup import certificate_expiry

    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate")
    with pytest.raises(InputError, match="cannot read the certificate"):
        certificate_expiry(bad)
    with pytest.raises(InputError, match="cannot read the certificate"):
        certificate_expiry(tmp_path / "missing.pem")
