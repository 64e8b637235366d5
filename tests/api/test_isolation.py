"""A two-user matrix over every route that takes an id: Bob never reads, changes or deletes
Alice's objects, and what he gets is the same 404 as for an id that does not exist."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lumen.services.container import Services

from .conftest import Account


def alices_objects(client: TestClient, alice: Account) -> dict[str, str]:
    profile = client.post(
        "/api/v1/profiles", json={"label": "Me", "conditions": ["asthma"]}, headers=alice.headers
    ).json()["id"]
    conversation = client.post(
        "/api/v1/conversations", json={"title": "private"}, headers=alice.headers
    ).json()["id"]
    message = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "I want to kill myself"},  # answered without the model
        headers=alice.headers,
    ).json()["id"]
    session = client.get("/api/v1/me/sessions", headers=alice.headers).json()[0]["id"]
    return {
        "profile": profile,
        "conversation": conversation,
        "message": message,
        "session": session,
    }


def routes(ids: dict[str, str]) -> list[tuple[str, str, dict[str, object] | None]]:
    p, c, m, s = ids["profile"], ids["conversation"], ids["message"], ids["session"]
    return [
        ("GET", f"/api/v1/profiles/{p}", None),
        ("PATCH", f"/api/v1/profiles/{p}", {"conditions": ["none"]}),
        ("DELETE", f"/api/v1/profiles/{p}", None),
        ("GET", f"/api/v1/conversations/{c}", None),
        ("PATCH", f"/api/v1/conversations/{c}", {"title": "mine now"}),
        ("POST", f"/api/v1/conversations/{c}/messages", {"content": "What is asthma?"}),
        ("DELETE", f"/api/v1/conversations/{c}", None),
        ("POST", f"/api/v1/messages/{m}/feedback", {"rating": 1}),
        ("DELETE", f"/api/v1/me/sessions/{s}", None),
        (
            "POST",
            f"/api/v1/conversations/{c}/messages",
            {"content": "What is asthma?", "use_profile": True, "profile_id": p},
        ),
    ]


def test_bob_cannot_touch_alices_objects(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    ids = alices_objects(client, alice)
    missing = {key: str(uuid.uuid4()) for key in ids}
    for (method, url, body), (_, missing_url, _) in zip(routes(ids), routes(missing), strict=True):
        response = client.request(method, url, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, url, response.status_code)
        absent = client.request(method, missing_url, json=body, headers=bob.headers)
        assert absent.status_code == 404
        assert response.json()["error"]["message"] == absent.json()["error"]["message"]
        assert "asthma" not in response.text
        assert "private" not in response.text

    # Alice's objects are intact.
    profile = client.get(f"/api/v1/profiles/{ids['profile']}", headers=alice.headers).json()
    assert profile["conditions"] == ["asthma"]
    conversation = client.get(
        f"/api/v1/conversations/{ids['conversation']}", headers=alice.headers
    ).json()
    assert conversation["title"] == "private"
    assert len(conversation["messages"]) == 1
    sessions = client.get("/api/v1/me/sessions", headers=alice.headers).json()
    assert ids["session"] in [s["id"] for s in sessions]
    # Lists never leak.
    assert client.get("/api/v1/profiles", headers=bob.headers).json() == []
    assert client.get("/api/v1/conversations", headers=bob.headers).json()["total"] == 0
    # The denied attempts are audited against Bob, as not_found.
    with services.database.session() as db:
        rows, _ = services.audit.list_events(db, limit=100, offset=0, actor_id=bob.id)
    assert sum(r.outcome == "not_found" for r in rows) >= 8


def test_every_id_route_needs_a_session(client: TestClient, alice: Account) -> None:
    ids = alices_objects(client, alice)
    for method, url, body in routes(ids):
        response = client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)


def test_patients_cannot_reach_admin_routes(client: TestClient, alice: Account) -> None:
    for method, url in (
        ("GET", "/api/v1/admin/users"),
        ("PATCH", f"/api/v1/admin/users/{alice.id}"),
        ("GET", "/api/v1/admin/audit"),
        ("GET", "/api/v1/admin/audit/verify"),
        ("GET", "/api/v1/admin/feedback"),
        ("GET", "/api/v1/admin/index"),
    ):
        body = {"role": "admin"} if method == "PATCH" else None
        response = client.request(method, url, json=body, headers=alice.headers)
        assert response.status_code == 403, url
    me = client.get("/api/v1/me", headers=alice.headers).json()
    assert me["role"] == "patient"
