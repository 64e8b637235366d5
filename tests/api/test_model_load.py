"""The model under load (issue #19): typed timeouts are 504s, and a bounded queue answers
503 with Retry-After at once when full or after its own wait timeout (real SmolLM2)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from lumen.db.models import Message
from lumen.services.container import Services

from .conftest import Account

API = "/api/v1"


def ask(client: TestClient, who: Account, question: str) -> httpx.Response:
    conversation = client.post(f"{API}/conversations", json={}, headers=who.headers).json()["id"]
    return client.post(
        f"{API}/conversations/{conversation}/messages",
        json={"content": question},
        headers=who.headers,
    )


def stored_message(services: Services, message_id: str) -> Message:
    with services.database.session() as db:
        message = db.get(Message, message_id)
        assert message is not None
        return message


def test_a_model_timeout_is_a_504(
    client: TestClient, services: Services, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = services.lumen.pipeline
    settings: Any = pipeline._settings
    tiny = settings.model_copy(update={"llm": settings.llm.model_copy(update={"timeout_s": 1e-4})})
    monkeypatch.setattr(pipeline, "_settings", tiny)
    answered = ask(client, alice, "What are the symptoms of glaucoma in older adults?")
    assert answered.status_code == 504, answered.text
    error = answered.json()["error"]
    assert error["code"] == "timeout"
    message = stored_message(services, error["message_id"])
    assert (message.status, message.error) == ("failed", "timeout")


def test_a_full_model_queue_answers_503_with_retry_after_at_once(
    loaded: tuple[Services, TestClient, Account],
) -> None:
    services, client, alice = loaded
    waiting: list[httpx.Response] = []
    with services.model_queue.slot():  # a long generation holds the model
        first = threading.Thread(
            target=lambda: waiting.append(ask(client, alice, "What causes glaucoma?"))
        )
        first.start()
        deadline = time.monotonic() + 20
        while services.metrics.value("lumen_llm_queue_depth") < 1:
            assert time.monotonic() < deadline, "the first question never queued"
            time.sleep(0.02)
        started = time.monotonic()
        refused = ask(client, alice, "Who is at risk of glaucoma?")
        assert time.monotonic() - started < 1.5  # at once, not after a timeout
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        message = stored_message(services, refused.json()["error"]["message_id"])
        assert (message.status, message.error) == ("failed", "busy")
    first.join(timeout=120)
    assert waiting
    assert waiting[0].status_code == 201, waiting
    assert waiting[0].json()["status"] == "answered"
    assert services.metrics.value("lumen_llm_queue_depth") == 0
    assert services.metrics.value("lumen_llm_refused_total", reason="full") == 1


def test_waiting_for_the_model_times_out_apart_from_generation(
    loaded: tuple[Services, TestClient, Account],
) -> None:
    services, client, alice = loaded
    assert services.settings.llm.timeout_s > 10  # the generation timeout is not what ends it
    with services.model_queue.slot():
        started = time.monotonic()
        refused = ask(client, alice, "What causes glaucoma?")
        waited = time.monotonic() - started
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert 1.9 <= waited < 10
    assert services.metrics.value("lumen_llm_refused_total", reason="wait_timeout") == 1
