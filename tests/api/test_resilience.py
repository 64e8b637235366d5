"""Load, faults and hostile input (issue #19): concurrency with real threads, a database
outage on a cluster the test owns, NUL characters and lone surrogates, and the smaller fixes."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lumen.api.app import create_app
from lumen.clock import ManualClock
from lumen.db.models import AuditEvent, Conversation, PatientProfile
from lumen.factory import Lumen, build_services
from lumen.services.container import Services
from lumen.services.profiles import decrypt_profile, encrypt_into

from .conftest import (
    PASSWORD,
    Account,
    BuildService,
    OwnPostgres,
    Stack,
    make_settings,
    sign_up,
)
from .test_api_keys import create_key, key_headers

API = "/api/v1"


def at_once(count: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``count`` calls from as many threads, released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> httpx.Response:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def audit_rows(services: Services, action: str) -> list[AuditEvent]:
    with services.database.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# -- 1. the connection pool ------------------------------------------------------------------


@pytest.mark.parametrize("threads", [20, 40])
def test_concurrent_requests_never_deadlock_the_pool(
    client: TestClient, services: Services, alice: Account, threads: int
) -> None:
    client.post(f"{API}/conversations", json={"title": "one"}, headers=alice.headers)
    started = time.monotonic()
    responses = at_once(
        threads, lambda _i: client.get(f"{API}/conversations", headers=alice.headers)
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: threads}, statuses
    assert time.monotonic() - started < services.settings.database.pool_timeout_s
    assert len(audit_rows(services, "conversation.list")) == threads
    assert services.audit.verify().ok


# -- 2. the sign-in throttle -----------------------------------------------------------------


def test_concurrent_wrong_passwords_are_checked_at_most_the_limit(
    client: TestClient, services: Services, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    verify, dummy = services.hasher.verify, services.hasher.dummy_verify

    def counted_verify(hashed: str, password: str) -> bool:
        checks.append("verify")
        return verify(hashed, password)

    def counted_dummy(password: str) -> None:
        checks.append("dummy")
        dummy(password)

    monkeypatch.setattr(services.hasher, "verify", counted_verify)
    monkeypatch.setattr(services.hasher, "dummy_verify", counted_dummy)
    responses = at_once(
        30,
        lambda i: client.post(
            f"{API}/auth/login", json={"email": alice.email, "password": f"wrong guess {i:02d}"}
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    limit = services.settings.auth.login_failures_per_account
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] == len(checks), (statuses, checks)
    assert 1 <= len(checks) <= limit, (statuses, checks)
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)


# -- 3. database outages ---------------------------------------------------------------------


def test_an_exhausted_pool_is_a_503_with_retry_after(
    service_builder: BuildService, stack: Stack
) -> None:
    services, client = service_builder(database={"pool_timeout_s": 0.5})
    alice = sign_up(client, "alice@example.org")
    engine = services.database.engine
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]  # type: ignore[attr-defined]
    try:
        busy = client.get(f"{API}/conversations", headers=alice.headers)
    finally:
        for connection in held:
            connection.close()
    assert busy.status_code == 503, busy.text
    assert int(busy.headers["Retry-After"]) > 0
    assert client.get(f"{API}/conversations", headers=alice.headers).status_code == 200


def test_a_database_outage_is_a_503_and_keeps_every_acknowledged_write(
    own_postgres: OwnPostgres, tmp_path: Path, clock: ManualClock, rag_lumen: Lumen
) -> None:
    stack = Stack("own-postgres", own_postgres.url, {"backend": "memory"})
    settings = make_settings(tmp_path, stack, database={"pool_timeout_s": 2})
    services = build_services(settings, clock=clock, lumen=rag_lumen)
    try:
        with TestClient(
            create_app(services=services),
            base_url="https://testserver",
            raise_server_exceptions=False,
        ) as client:
            alice = sign_up(client, "alice@example.org")
            acknowledged: list[str] = []

            def create(n: int) -> httpx.Response:
                response = client.post(
                    f"{API}/conversations", json={"title": f"t{n}"}, headers=alice.headers
                )
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                return response

            assert all(create(n).status_code == 201 for n in range(3))
            key = key_headers(create_key(client, alice))
            own_postgres.stop()
            during = [create(n) for n in range(3, 8)]
            during.append(client.get(f"{API}/conversations", headers=alice.headers))
            during.append(
                client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
            )
            for response in during:
                assert response.status_code == 503, response.text
                assert int(response.headers["Retry-After"]) > 0
                assert "Traceback" not in response.text
            # The OpenAI-compatible API says the same in OpenAI's shape, which its SDKs read.
            models = client.get("/v1/models", headers=key)
            assert models.status_code == 503, models.text
            assert int(models.headers["Retry-After"]) > 0
            assert models.json()["error"]["type"] == "server_error"
            own_postgres.start()
            assert create(99).status_code == 201
            with services.database.session() as db:
                stored = set(db.scalars(select(Conversation.id)))
            assert set(acknowledged) <= stored
            assert len(stored) == len(acknowledged) == 4
            assert services.audit.verify().ok
    finally:
        services.close()


# -- 4 and 5. NUL characters and lone surrogates ---------------------------------------------


def raw_json(client: TestClient, method: str, url: str, body: str, **kwargs: Any) -> httpx.Response:
    """Send ``body`` as is (JSON escapes such as \\udfff reach the server unchanged)."""
    return client.request(
        method,
        url,
        content=body.encode("ascii"),
        headers={"Content-Type": "application/json", **kwargs.pop("headers", {})},
        **kwargs,
    )


def test_nul_characters_are_refused_never_stored(
    client: TestClient, services: Services, alice: Account
) -> None:
    nul_email = json.dumps({"email": "a\u0000b@x.org", "password": PASSWORD})
    assert raw_json(client, "POST", f"{API}/auth/signup", nul_email).status_code == 422
    assert raw_json(client, "POST", f"{API}/auth/login", nul_email).status_code == 422
    h = alice.headers
    assert client.get(f"{API}/conversations/a%00b", headers=h).status_code == 422
    assert client.get(f"{API}/profiles/a%00b", headers=h).status_code == 422
    assert client.delete(f"{API}/me/sessions/a%00b", headers=h).status_code == 422
    assert client.get(f"{API}/conversations?q=a%00b", headers=h).status_code == 422
    feedback = client.post(f"{API}/messages/a%00b/feedback", json={"rating": 1}, headers=h)
    assert feedback.status_code == 422
    conversation = client.post(f"{API}/conversations", json={}, headers=h).json()["id"]
    asked = client.post(
        f"{API}/conversations/{conversation}/messages",
        json={"content": "What is glaucoma?", "use_profile": True, "profile_id": "a\u0000b"},
        headers=h,
    )
    assert asked.status_code == 422
    renamed = client.patch(
        f"{API}/conversations/{conversation}", json={"title": "x\u0000y"}, headers=h
    )
    assert renamed.status_code == 422
    profile = client.post(f"{API}/profiles", json={"conditions": ["a\u0000"]}, headers=h)
    assert profile.status_code == 422
    assert client.get(f"{API}/conversations/{'x' * 65}", headers=h).status_code == 422
    assert client.get(f"{API}/conversations/no-such-id", headers=h).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        '{"conditions": ["\\udfff"]}',
        '{"label": "\\ud800"}',
        '{"demographics": {"\\udfff": "x"}}',
        '{"demographics": {"sex": "\\udc80"}}',
    ],
)
def test_lone_surrogates_are_a_422(client: TestClient, alice: Account, body: str) -> None:
    created = raw_json(client, "POST", f"{API}/profiles", body, headers=alice.headers)
    assert created.status_code == 422, created.text


def test_lone_surrogates_in_questions_and_sign_up(client: TestClient, alice: Account) -> None:
    conversation = client.post(f"{API}/conversations", json={}, headers=alice.headers).json()["id"]
    asked = raw_json(
        client,
        "POST",
        f"{API}/conversations/{conversation}/messages",
        '{"content": "is \\udfff safe?"}',
        headers=alice.headers,
    )
    assert asked.status_code == 422
    body = '{"email": "x\\udfff@example.org", "password": "a long enough passphrase"}'
    assert raw_json(client, "POST", f"{API}/auth/signup", body).status_code == 422


# -- 9 (part). demographics keep their types -------------------------------------------------


def test_demographic_booleans_stay_booleans(client: TestClient, alice: Account) -> None:
    demographics = {"pregnant": True, "smoker": False, "birth_year": 1970, "weight_kg": 61.5}
    created = client.post(
        f"{API}/profiles", json={"demographics": demographics}, headers=alice.headers
    )
    assert created.status_code == 201
    assert created.json()["demographics"] == demographics
    read = client.get(f"{API}/profiles/{created.json()['id']}", headers=alice.headers).json()
    assert read["demographics"]["pregnant"] is True
    assert read["demographics"]["smoker"] is False
    assert read["demographics"]["birth_year"] == 1970


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_demographics_are_a_422(client: TestClient, alice: Account, value: str) -> None:
    body = '{"demographics": {"weight_kg": ' + value + "}}"
    created = raw_json(client, "POST", f"{API}/profiles", body, headers=alice.headers)
    assert created.status_code == 422, created.text
    profile = client.post(f"{API}/profiles", json={}, headers=alice.headers).json()["id"]
    patched = raw_json(client, "PATCH", f"{API}/profiles/{profile}", body, headers=alice.headers)
    assert patched.status_code == 422, patched.text


def test_the_export_survives_a_profile_saved_with_nan(
    client: TestClient, services: Services, alice: Account
) -> None:
    """Profiles saved before the API refused NaN still export (the value as null)."""
    profile_id = client.post(
        f"{API}/profiles", json={"demographics": {"birth_year": 1970}}, headers=alice.headers
    ).json()["id"]
    with services.database.session() as db:
        profile = db.get(PatientProfile, profile_id)
        assert profile is not None
        data = decrypt_profile(services.keyring, profile)
        data.demographics["weight_kg"] = float("nan")
        encrypt_into(services.keyring, profile, data)
    exported = client.get(f"{API}/me/export", headers=alice.headers)
    assert exported.status_code == 200, exported.text
    (saved,) = exported.json()["profiles"]
    assert saved["demographics"] == {"birth_year": 1970, "weight_kg": None}


# -- 10. the smaller ones --------------------------------------------------------------------


def test_the_sqlite_files_are_private(client: TestClient, stack: Stack, alice: Account) -> None:
    if stack.name != "embedded":
        pytest.skip("SQLite only")
    database = Path(stack.database_url.split("///", 1)[1])
    client.post(f"{API}/conversations", json={}, headers=alice.headers)
    files = [database.with_name(database.name + s) for s in ("", "-wal", "-shm")]
    assert all(f.exists() for f in files)
    for file in files:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file.name


def test_failed_cross_user_lookups_leave_not_found_audit_rows(
    client: TestClient, services: Services, alice: Account, bob: Account
) -> None:
    bobs_session = client.get(f"{API}/me/sessions", headers=bob.headers).json()[0]["id"]
    revoked = client.delete(f"{API}/me/sessions/{bobs_session}", headers=alice.headers)
    assert revoked.status_code == 404
    bobs_profile = client.post(f"{API}/profiles", json={}, headers=bob.headers).json()["id"]
    conversation = client.post(f"{API}/conversations", json={}, headers=alice.headers).json()["id"]
    asked = client.post(
        f"{API}/conversations/{conversation}/messages",
        json={"content": "What is glaucoma?", "use_profile": True, "profile_id": bobs_profile},
        headers=alice.headers,
    )
    assert asked.status_code == 404
    revokes = audit_rows(services, "auth.session_revoke")
    assert [(r.actor_id, r.outcome, r.object_id) for r in revokes] == [
        (alice.id, "not_found", bobs_session)
    ]
    uses = audit_rows(services, "profile.use")
    assert [(r.actor_id, r.outcome, r.object_id) for r in uses] == [
        (alice.id, "not_found", bobs_profile)
    ]
    assert client.get(f"{API}/me/sessions", headers=bob.headers).status_code == 200


def test_metrics_need_the_token_when_one_is_set(service_builder: BuildService) -> None:
    _, open_client = service_builder()
    assert open_client.get("/metrics").status_code == 200
    _, client = service_builder(api={"metrics_token": "scrape-me-please"})
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert right.status_code == 200
    assert "lumen_llm_queue_depth" in right.text
