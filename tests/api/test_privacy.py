"""Patient data at rest: a canary string stored through every route that takes patient data
must not appear in a database dump, in the KV store (Redis or in-process), or in the logs."""

from __future__ import annotations

import logging
import sqlite3
import subprocess

import pytest
from fastapi.testclient import TestClient

from lumen.services.container import Services

from .conftest import POSTGRES_URL, REDIS_URL, Account, Stack

CANARY = "Zyxquorvaline"  # a made-up medication name


def database_dump(services: Services, stack: Stack) -> str:
    if stack.name == "embedded":
        path = services.settings.database_url().split("///", 1)[1]
        connection = sqlite3.connect(path)
        try:
            text = "\n".join(connection.iterdump())
        finally:
            connection.close()
        return text
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    result = subprocess.run(
        ["pg_dump", "--data-only", f"--schema={stack.schema}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def kv_dump(services: Services, stack: Stack) -> str:
    if stack.name == "embedded":
        return repr(services.kv._data)  # type: ignore[attr-defined]
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    parts = []
    for key in client.scan_iter(f"{stack.kv['prefix']}*"):
        kind = client.type(key).decode()
        if kind == "string":
            value: object = client.get(key)
        elif kind == "set":
            value = client.smembers(key)
        else:
            value = kind
        parts.append(f"{key!r}={value!r}")
    assert parts, "the Redis stack should hold sessions"
    return "\n".join(parts)


@pytest.mark.slow
def test_canary_never_leaves_encryption(
    client: TestClient,
    alice: Account,
    services: Services,
    stack: Stack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    profile = client.post(
        "/api/v1/profiles",
        json={
            "label": f"{CANARY} profile",
            "demographics": {"note": CANARY},
            "conditions": [f"{CANARY} syndrome"],
            "medications": [CANARY],
            "allergies": [CANARY],
        },
        headers=alice.headers,
    )
    assert profile.status_code == 201
    conversation = client.post(
        "/api/v1/conversations", json={"title": f"About {CANARY}"}, headers=alice.headers
    ).json()["id"]
    message = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": f"Is {CANARY} safe with glaucoma eye drops?", "use_profile": True},
        headers=alice.headers,
    )
    assert message.status_code == 201, message.text
    feedback = client.post(
        f"/api/v1/messages/{message.json()['id']}/feedback",
        json={"rating": 1, "comment": f"{CANARY} comment"},
        headers=alice.headers,
    )
    assert feedback.status_code == 201
    # A failed request that echoes nothing: a profile with an invalid field.
    bad = client.post("/api/v1/profiles", json={"allergies": CANARY}, headers=alice.headers)
    assert bad.status_code == 422
    assert CANARY not in bad.text

    # The owner reads everything back in clear text...
    read = client.get(f"/api/v1/conversations/{conversation}", headers=alice.headers).json()
    assert CANARY in read["title"]
    assert CANARY in read["messages"][0]["question"]
    export = client.get("/api/v1/me/export", headers=alice.headers).text
    assert export.count(CANARY) >= 7

    # ...but nothing at rest or in the logs holds it.
    dump = database_dump(services, stack)
    assert "v1:" in dump, "encrypted tokens are in the dump"
    assert CANARY not in dump
    assert CANARY.lower() not in dump.lower()
    assert CANARY not in kv_dump(services, stack)
    assert CANARY not in caplog.text
    audit = client.get("/api/v1/admin/audit", headers=alice.headers)
    assert audit.status_code == 403
