"""Export, account deletion and the retention job."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lumen.clock import ManualClock
from lumen.db.models import AuditEvent, Conversation
from lumen.services.container import Services
from lumen.services.data_rights import count_rows_for, purge_expired_conversations

from .conftest import PASSWORD, Account


def _fill(client: TestClient, who: Account) -> tuple[str, str]:
    client.post(
        "/api/v1/profiles", json={"label": "Me", "allergies": ["penicillin"]}, headers=who.headers
    ).raise_for_status()
    conversation = client.post(
        "/api/v1/conversations", json={"title": "eyes"}, headers=who.headers
    ).json()["id"]
    message = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "I want to kill myself"},
        headers=who.headers,
    ).json()["id"]
    client.post(
        f"/api/v1/messages/{message}/feedback", json={"rating": 1}, headers=who.headers
    ).raise_for_status()
    return conversation, message


def test_export_holds_everything_in_clear_text(client: TestClient, alice: Account) -> None:
    conversation, message = _fill(client, alice)
    response = client.get("/api/v1/me/export", headers=alice.headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "lumen-export/1"
    assert document["account"]["email"] == "alice@example.org"
    assert document["profiles"][0]["allergies"] == ["penicillin"]
    exported = document["conversations"][0]
    assert exported["id"] == conversation
    assert exported["title"] == "eyes"
    assert exported["messages"][0]["id"] == message
    assert exported["messages"][0]["answer"]["mode"] == "crisis"
    assert document["feedback"][0]["rating"] == 1
    assert any(e["action"] == "profile.create" for e in document["audit_events"])


@pytest.mark.slow
def test_deletion_leaves_nothing_behind(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    _fill(client, alice)
    conversation = client.post("/api/v1/conversations", json={}, headers=alice.headers).json()
    asked = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"content": "What are the symptoms of glaucoma?"},
        headers=alice.headers,
    )
    assert asked.status_code == 201
    assert services.kv.smembers(f"cache_users:{alice.id}"), "the answer was cached"
    _fill(client, bob)

    wrong = client.request(
        "DELETE", "/api/v1/me", json={"password": "not the password at all"}, headers=alice.headers
    )
    assert wrong.status_code == 422
    deleted = client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=alice.headers
    )
    assert deleted.status_code == 204

    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 401
    with services.database.session() as db:
        assert count_rows_for(db, alice.id) == dict.fromkeys(
            ("users", "profiles", "conversations", "messages", "feedback"), 0
        )
        assert count_rows_for(db, bob.id)["messages"] == 1
        actions = [e.action for e in db.query(AuditEvent).filter_by(actor_id=alice.id)]
    assert "account.delete" in actions  # audit rows stay, holding ids only
    assert services.sessions.list_for_user(alice.id) == []
    assert not services.kv.smembers(f"cache_users:{alice.id}")
    assert not services.kv.scan_prefix("answer:")
    assert services.audit.verify().ok
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200


def test_retention_purges_idle_conversations_only(
    client: TestClient, alice: Account, services: Services, clock: ManualClock
) -> None:
    old, _ = _fill(client, alice)
    clock.advance(400 * 86_400)
    token, _ = services.sessions.create(alice.id, "patient")
    fresh_headers = {"Authorization": f"Bearer {token}"}
    recent = client.post("/api/v1/conversations", json={}, headers=fresh_headers).json()["id"]
    assert purge_expired_conversations(services) == 1
    with services.database.session() as db:
        remaining = [c.id for c in db.query(Conversation).all()]
        purged = db.query(AuditEvent).filter_by(action="retention.purge").one()
    assert remaining == [recent]
    assert purged.object_id == old
    assert purged.actor_role == "system"
    assert purge_expired_conversations(services, days=1) == 0
