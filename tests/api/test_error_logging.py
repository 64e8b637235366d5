"""Patient data never reaches a log (issue #19): unhandled errors log their type and a
request id only, and every handler `lumen serve` configures (uvicorn's, SQLAlchemy's)
redacts."""

from __future__ import annotations

import logging
import logging.config
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from lumen.services.container import Services

from .conftest import PASSWORD, Account

API = "/api/v1"
CANARY = "zz-canary-4471@example.org"


def test_an_unhandled_error_logs_its_type_and_request_id_only(
    client: TestClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lumen.services import conversations

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"[parameters: {{'email_1': '{CANARY}'}}]")

    monkeypatch.setattr(conversations, "list_conversations", broken)
    caplog.set_level(logging.DEBUG)
    failed = client.get(f"{API}/conversations", headers=alice.headers)
    assert failed.status_code == 500
    request_id = failed.headers["X-Request-ID"]
    assert failed.json()["error"]["request_id"] == request_id
    assert CANARY not in failed.text
    for record in caplog.records:
        assert CANARY not in record.getMessage()
        assert record.exc_info is None
        assert not record.exc_text
    assert f"unhandled RuntimeError (request {request_id})" in caplog.messages
    # The same client goes on working (nothing was re-raised into the server).
    monkeypatch.undo()
    assert client.get(f"{API}/conversations", headers=alice.headers).status_code == 200


def test_an_unhandled_error_under_v1_is_an_openai_500(
    client: TestClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenAI's SDKs read only their own error shape, so /v1 answers a 500 in it too."""
    from lumen.services import openai_api

    from .test_api_keys import create_key, key_headers

    key = key_headers(create_key(client, alice))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(CANARY)

    monkeypatch.setattr(openai_api, "models_for", broken)
    failed = client.get("/v1/models", headers=key)
    assert failed.status_code == 500
    error = failed.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "server_error"
    assert failed.headers["X-Request-ID"] in error["message"]
    assert CANARY not in failed.text


def test_every_handler_serve_configures_redacts(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from lumen.observability.logs import configure_service_logging, redact_all_handlers
    from lumen.settings import LoggingSettings

    configure_service_logging(LoggingSettings())  # what serve does: uvicorn's loggers included
    echo = logging.getLogger("sqlalchemy.engine.Engine")
    echo.addHandler(logging.StreamHandler(sys.stdout))  # what create_engine(echo=True) adds
    echo.setLevel(logging.INFO)
    assert redact_all_handlers() >= 1
    try:
        raise ValueError(f"duplicate key: email={CANARY}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("uvicorn.access").info('%s - "GET /?e=%s"', "127.0.0.1", CANARY)
    echo.info("[generated in 0.00010s] ('%s', 'hash')", CANARY)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Exception in ASGI application" in output
    assert "generated in" in output
    assert CANARY not in output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_lumen_serve_logs_no_patient_data(tmp_path: Path) -> None:
    """A real `lumen serve` that logs every SQL statement with its parameters."""
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "LUMEN_PROFILE": "embedded",
        "LUMEN_PATHS__DATA_DIR": str(tmp_path / "data"),
        "LUMEN_DATABASE__ECHO": "true",
        "LUMEN_API__WEB_DIR": str(tmp_path / "no-web"),
    }
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lumen.cli.main",
                "serve",
                "--port",
                str(port),
                "--insecure-cookies",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "lumen serve did not start"
            time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=30) as http:
            body = {"email": CANARY, "password": PASSWORD}
            assert http.post(f"{API}/auth/signup", json=body).status_code == 201
            assert http.post(f"{API}/auth/login", json=body).status_code == 200
            nul = http.post(f"{API}/auth/login", json={"email": CANARY + "\x00", "password": "x"})
            assert nul.status_code == 422
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    output = log.read_text()
    assert "INSERT INTO users" in output  # the statements and their parameters were logged
    assert CANARY not in output
    assert "zz-canary-4471" not in output


def test_a_500_keeps_the_keep_alive_connection(
    services: Services, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against uvicorn itself: after a 500 the same connection serves the next request."""
    import http.client
    import threading

    import uvicorn

    from lumen.api.app import create_app
    from lumen.services import conversations

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        monkeypatch.setattr(conversations, "list_conversations", broken)
        connection.request("GET", f"{API}/conversations", headers=alice.headers)
        failed = connection.getresponse()
        failed.read()
        assert failed.status == 500
        assert not failed.will_close
        sock = connection.sock
        monkeypatch.undo()
        connection.request("GET", f"{API}/conversations", headers=alice.headers)
        again = connection.getresponse()
        again.read()
        assert again.status == 200
        assert connection.sock is sock  # not reconnected: the server kept it open
    finally:
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)
