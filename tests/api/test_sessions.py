"""Sessions through the HTTP API on both stacks: sign-out, the session list, and the idle and
absolute timeouts on the manual clock (the session store compares the injected clock; Redis
TTLs are real time and longer than any test)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi.testclient import TestClient

try:  # what Starlette's TestClient returns when httpx2 is installed
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from lumen.clock import ManualClock
from lumen.services.container import Services

from .conftest import PASSWORD, Account

API = "/api/v1"
ME = f"{API}/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(client: TestClient, account: Account, user_agent: str = "pytest") -> str:
    """Another session for ``account`` (a bearer token; cookies dropped)."""
    response = client.post(
        f"{API}/auth/login",
        json={"email": account.email, "password": PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    token: str = response.json()["token"]
    return token


def me(client: TestClient, token: str) -> httpx.Response:
    return client.get(ME, headers=bearer(token))


def test_logout_ends_the_session(client: TestClient, services: Services, alice: Account) -> None:
    other = new_token(client, alice)
    out = client.post(f"{API}/auth/logout", headers=alice.headers)
    assert out.status_code == 204
    assert me(client, alice.token).status_code == 401
    assert client.post(f"{API}/auth/logout", headers=alice.headers).status_code == 401
    assert me(client, other).status_code == 200  # only that session ended
    assert services.audit.verify().ok


def test_logout_everywhere(client: TestClient, alice: Account, bob: Account) -> None:
    first, second = new_token(client, alice), new_token(client, alice)
    out = client.post(f"{API}/auth/logout-all", headers=bearer(first))
    assert out.status_code == 200
    assert out.json() == {"revoked": 3, "api_keys_revoked": 0}  # the sign-up's session too
    for token in (alice.token, first, second):
        assert me(client, token).status_code == 401
    assert me(client, bob.token).status_code == 200


def test_session_list_and_revocation(
    client: TestClient, services: Services, alice: Account, bob: Account
) -> None:
    other = new_token(client, alice, user_agent="second browser")
    listed = client.get(f"{ME}/sessions", headers=alice.headers)
    assert listed.status_code == 200
    sessions = {s["id"]: s for s in listed.json()}
    assert set(sessions) == {session_id(alice.token), session_id(other)}
    assert sessions[session_id(alice.token)]["current"] is True
    assert sessions[session_id(other)]["current"] is False
    assert sessions[session_id(other)]["user_agent"] == "second browser"
    assert sessions[session_id(other)]["ip"] == "testclient"
    assert alice.token not in listed.text
    assert other not in listed.text

    # Another user's session, or an unknown id, is not found (and stays alive).
    foreign = client.delete(f"{ME}/sessions/{session_id(bob.token)}", headers=alice.headers)
    assert foreign.status_code == 404
    assert client.delete(f"{ME}/sessions/{'0' * 64}", headers=alice.headers).status_code == 404
    assert me(client, bob.token).status_code == 200

    ended = client.delete(f"{ME}/sessions/{session_id(other)}", headers=alice.headers)
    assert ended.status_code == 204
    assert me(client, other).status_code == 401
    assert me(client, alice.token).status_code == 200
    again = client.delete(f"{ME}/sessions/{session_id(other)}", headers=alice.headers)
    assert again.status_code == 404

    remaining = client.get(f"{ME}/sessions", headers=alice.headers).json()
    assert [s["id"] for s in remaining] == [session_id(alice.token)]
    with services.database.session() as db:
        rows, _ = services.audit.list_events(db, limit=10, offset=0, action="auth.session_revoke")
        done = [row.object_id for row in rows if row.outcome == "success"]
        missed = [row.object_id for row in rows if row.outcome == "not_found"]
    assert done == [session_id(other)]
    # The failed attempts are audited too (the newest first).
    assert missed == [session_id(other), "0" * 64, session_id(bob.token)]
    assert services.audit.verify().ok


def test_idle_timeout(
    client: TestClient, services: Services, clock: ManualClock, alice: Account
) -> None:
    idle = services.settings.auth.idle_timeout_s
    assert idle == 900
    clock.advance(idle)  # exactly the limit: still alive, and touched
    assert me(client, alice.token).status_code == 200
    clock.advance(idle + 1)
    response = me(client, alice.token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_activity_keeps_a_session_alive(
    client: TestClient, clock: ManualClock, alice: Account
) -> None:
    for _ in range(5):  # 3000 s in all, well past the idle timeout
        clock.advance(600)
        assert me(client, alice.token).status_code == 200
    (session,) = client.get(f"{ME}/sessions", headers=alice.headers).json()
    last_seen = datetime.fromisoformat(session["last_seen"])
    created_at = datetime.fromisoformat(session["created_at"])
    assert (last_seen - created_at).total_seconds() == 3000


def test_absolute_timeout(
    client: TestClient, services: Services, clock: ManualClock, alice: Account
) -> None:
    absolute = services.settings.auth.absolute_timeout_s
    assert absolute == 43_200
    elapsed = 0
    while elapsed + 600 <= absolute:
        clock.advance(600)
        elapsed += 600
        assert me(client, alice.token).status_code == 200, elapsed
    assert elapsed == absolute
    clock.advance(1)  # one second past the absolute limit, one second after the last use
    assert me(client, alice.token).status_code == 401
    # A new sign-in is a new session with its own limit.
    assert me(client, new_token(client, alice)).status_code == 200
