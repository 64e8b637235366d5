"""Personal API keys on both stacks: shown once, stored hashed, one authorization path with
sessions, revoked by hand, by expiry, by a role change and with the account."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from lumen.clock import ManualClock
from lumen.db.models import ApiKey, AuditEvent
from lumen.factory import build_services
from lumen.services.container import Services

from .conftest import PASSWORD, Account, make_admin, sign_up


def create_key(
    client: TestClient, account: Account, name: str = "laptop", **fields: object
) -> dict[str, object]:
    response = client.post(
        "/api/v1/me/api-keys", json={"name": name, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def key_headers(created: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {created['key']}"}


def test_a_key_is_shown_once_stored_hashed_and_works_like_a_session(
    client: TestClient, alice: Account, services: Services
) -> None:
    created = create_key(client, alice, expires_in_days=30)
    secret = str(created["key"])
    assert secret.startswith("lmn_")
    assert len(secret) > 40
    assert secret.startswith(str(created["prefix"]))
    assert len(str(created["prefix"])) == 12
    assert created["role"] == "patient"
    assert created["active"] is True
    assert created["expires_at"] is not None
    assert created["last_used_at"] is None

    listed = client.get("/api/v1/me/api-keys", headers=alice.headers).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert secret not in str(listed)

    with services.database.session() as db:
        row = db.get(ApiKey, created["id"])
        assert row is not None
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        stored = " ".join(str(v) for v in vars(row).values())
        assert secret not in stored

    me = client.get("/api/v1/me", headers=key_headers(created))
    assert me.status_code == 200
    assert me.json()["id"] == alice.id
    conversation = client.post(
        "/api/v1/conversations", json={"title": "via key"}, headers=key_headers(created)
    )
    assert conversation.status_code == 201
    listed = client.get("/api/v1/me/api-keys", headers=alice.headers).json()
    assert listed[0]["last_used_at"] is not None

    with services.database.session() as db:
        uses = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "apikey.use", AuditEvent.object_id == created["id"]
            )
        ).all()
    assert len(uses) == 2
    assert all(u.actor_id == alice.id and u.outcome == "success" for u in uses)


def test_revoked_expired_and_wrong_keys_are_refused(
    client: TestClient, alice: Account, clock: ManualClock, services: Services
) -> None:
    revoked = create_key(client, alice, "old")
    short = create_key(client, alice, "short", expires_in_days=1)
    assert client.get("/api/v1/me", headers=key_headers(short)).status_code == 200

    assert (
        client.delete(f"/api/v1/me/api-keys/{revoked['id']}", headers=alice.headers).status_code
        == 204
    )
    response = client.get("/api/v1/me", headers=key_headers(revoked))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"

    clock.advance(86_400 + 1)
    assert client.get("/api/v1/me", headers=key_headers(short)).status_code == 401
    token, _ = services.sessions.create(alice.id, "patient")  # the old session timed out too
    alice = Account(alice.id, alice.email, token)
    listed = {k["name"]: k for k in client.get("/api/v1/me/api-keys", headers=alice.headers).json()}
    assert listed["old"]["active"] is False
    assert listed["old"]["revoked_at"] is not None
    assert listed["short"]["active"] is False
    assert listed["short"]["revoked_at"] is None

    forged = "lmn_" + "A" * 43
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    too_long = "lmn_" + "A" * 500
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {too_long}"}).status_code == 401
    )
    with services.database.session() as db:
        failures = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "apikey.use", AuditEvent.outcome == "failure"
            )
        ).all()
    assert len(failures) >= 3


def test_keys_cannot_manage_keys_and_others_keys_are_not_found(
    client: TestClient, alice: Account, bob: Account
) -> None:
    created = create_key(client, alice)
    for method, url, body in (
        ("GET", "/api/v1/me/api-keys", None),
        ("POST", "/api/v1/me/api-keys", {"name": "minted"}),
        ("DELETE", f"/api/v1/me/api-keys/{created['id']}", None),
    ):
        response = client.request(method, url, json=body, headers=key_headers(created))
        assert response.status_code == 403, (method, url)
    # Bob cannot see or revoke Alice's key: the same 404 as a key that does not exist.
    assert client.get("/api/v1/me/api-keys", headers=bob.headers).json() == []
    theirs = client.delete(f"/api/v1/me/api-keys/{created['id']}", headers=bob.headers)
    missing = client.delete(
        "/api/v1/me/api-keys/00000000-0000-0000-0000-000000000000", headers=bob.headers
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["message"] == missing.json()["error"]["message"]
    assert client.get("/api/v1/me", headers=key_headers(created)).status_code == 200


def test_bad_key_requests_are_4xx(client: TestClient, alice: Account) -> None:
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 100_000},
        {"name": "x", "scopes": ["all"]},
        {"name": "lap\u0000top"},
    ):
        response = client.post("/api/v1/me/api-keys", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    assert client.post("/api/v1/me/api-keys", json={"name": "x"}).status_code == 401


def test_a_role_change_revokes_keys_and_deleting_the_account_removes_them(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    admin = make_admin(services, sign_up(client, "root@example.org"))
    alice_key = create_key(client, alice)
    bob_key = create_key(client, bob)
    changed = client.patch(
        f"/api/v1/admin/users/{alice.id}", json={"role": "pharma"}, headers=admin.headers
    )
    assert changed.status_code == 200
    assert client.get("/api/v1/me", headers=key_headers(alice_key)).status_code == 401

    assert client.get("/api/v1/me", headers=key_headers(bob_key)).status_code == 200
    deleted = client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=bob.headers
    )
    assert deleted.status_code == 204
    assert client.get("/api/v1/me", headers=key_headers(bob_key)).status_code == 401
    with services.database.session() as db:
        assert db.scalars(select(ApiKey).where(ApiKey.user_id == bob.id)).all() == []


def test_signing_out_everywhere_or_a_new_password_revokes_keys(
    client: TestClient, alice: Account, bob: Account
) -> None:
    """A key made from a stolen session must not outlive the owner's clean-up."""
    alice_key = create_key(client, alice)
    bob_key = create_key(client, bob)
    ended = client.post("/api/v1/auth/logout-all", headers=alice.headers)
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"revoked": 1, "api_keys_revoked": 1}
    assert client.get("/api/v1/me", headers=key_headers(alice_key)).status_code == 401
    assert client.get("/api/v1/me", headers=key_headers(bob_key)).status_code == 200

    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "an entirely new passphrase 42"},
        headers=bob.headers,
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/me", headers=key_headers(bob_key)).status_code == 401
    listed = client.get(
        "/api/v1/me/api-keys", headers={"Authorization": f"Bearer {changed.json()['token']}"}
    ).json()
    assert [k["revoked_at"] is not None for k in listed] == [True]


def test_keys_are_rate_limited_and_exported(
    client: TestClient, alice: Account, services: Services, clock: ManualClock
) -> None:
    created = create_key(client, alice, "export me", store_conversations=False)
    exported = client.get("/api/v1/me/export", headers=alice.headers).json()
    assert [k["name"] for k in exported["api_keys"]] == ["export me"]
    assert exported["api_keys"][0]["store_conversations"] is False
    assert str(created["key"]) not in str(exported)

    # Three requests a window per address and per key; each request from its own address,
    # so that only the key's own limit can stop the fourth.
    api = services.settings.api.model_copy(
        update={"rate_limit_per_ip": 3, "trust_forwarded_for": True}
    )
    limited = build_services(
        services.settings.model_copy(update={"api": api}),
        clock=clock,
        lumen=services.lumen,
        kv=services.kv,
    )
    from lumen.api.app import create_app

    try:
        with TestClient(create_app(services=limited), base_url="https://testserver") as other:
            responses = [
                other.get(
                    "/api/v1/me",
                    headers={**key_headers(created), "X-Forwarded-For": f"198.51.100.{i}"},
                )
                for i in range(4)
            ]
    finally:
        limited.database.dispose()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].headers["retry-after"]
    assert "API key" in responses[-1].json()["error"]["message"]
