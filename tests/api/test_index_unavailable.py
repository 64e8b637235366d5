"""An index held by another store is a 503 ``index_unavailable`` with Retry-After, logged."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from lumen.components.vector_store.qdrant_edge import EdgeVectorStore
from lumen.db.models import Message
from lumen.services.container import Services

from .conftest import sign_up


def test_locked_index_is_503_index_unavailable(
    locked_services: tuple[Services, EdgeVectorStore], caplog: pytest.LogCaptureFixture
) -> None:
    from lumen.api.app import create_app

    services, _holder = locked_services
    with TestClient(
        create_app(services=services), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        alice = sign_up(client, "alice@example.org")
        conversation = client.post("/api/v1/conversations", json={}, headers=alice.headers).json()
        with caplog.at_level(logging.ERROR):
            response = client.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"content": "What is glaucoma?"},
                headers=alice.headers,
            )
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "index_unavailable"
    assert "language model" not in error["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert any("index is unavailable" in r.getMessage() for r in caplog.records)
    with services.database.session() as db:
        message = db.get(Message, error["message_id"])
        assert message is not None
        assert message.status == "failed"
        assert message.error == "index_unavailable"
