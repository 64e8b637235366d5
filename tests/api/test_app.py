"""The app's shape: health, readiness, metrics, OpenAPI, errors, limits and headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lumen.clock import ManualClock
from lumen.components.kv.redis_store import RedisKV
from lumen.services.answer_cache import AnswerCache
from lumen.services.container import Services

from .conftest import Account


def test_health_readiness_and_metrics(client: TestClient, alice: Account) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": True,
        "kv": True,
        "vector_store": True,
        "llm": True,
    }
    client.get("/api/v1/me", headers=alice.headers)
    metrics = client.get("/metrics").text
    assert 'lumen_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in metrics
    assert "lumen_answer_seconds" in metrics
    assert "lumen_rate_limit_hits" in metrics


def test_readiness_names_what_is_down(services: Services, client: TestClient) -> None:
    services.kv = RedisKV("redis://127.0.0.1:1/0", prefix="x:", timeout_s=0.2, clock=ManualClock())
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["kv"] is False
    assert ready.json()["checks"]["database"] is True


def test_openapi_documents_the_versioned_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/profiles/{profile_id}",
        "/api/v1/admin/audit/verify",
        "/api/v1/me/export",
    ):
        assert path in paths
    assert client.get("/api/docs").status_code == 200


def test_openapi_types_answers_and_errors(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    answer = components["MessagePublic"]["properties"]["answer"]
    assert {"$ref": "#/components/schemas/AnswerPublic"} in answer["anyOf"]
    assert "supports" in components["CitationPublic"]["properties"]
    conversation = schema["paths"]["/api/v1/conversations/{conversation_id}"]["get"]
    for status in ("401", "404", "422", "429"):
        content = conversation["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


def test_errors_share_one_shape_and_never_show_a_traceback(
    client: TestClient, alice: Account, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"

    invalid = client.post("/api/v1/auth/signup", json={"email": 5})
    assert invalid.status_code == 422
    fields = {f["field"] for f in invalid.json()["error"]["fields"]}
    assert fields == {"email", "password"}

    not_json = client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422

    from lumen.services import profiles

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(profiles, "list_profiles", explode)
    boom = client.get("/api/v1/profiles", headers=alice.headers)
    assert boom.status_code == 500
    assert boom.json()["error"]["code"] == "internal_error"
    assert "secret" not in boom.text
    assert "Traceback" not in boom.text


def test_large_bodies_are_refused(client: TestClient, alice: Account, services: Services) -> None:
    limit = services.settings.api.max_body_bytes
    huge = {"label": "x", "conditions": ["y" * 1000] * (limit // 1000 + 5)}
    response = client.post("/api/v1/profiles", json=huge, headers=alice.headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 1000 + 5):
            yield b"x" * 1000

    streamed = client.post(
        "/api/v1/profiles",
        content=chunks(),
        headers={**alice.headers, "content-type": "application/json"},
    )
    assert streamed.status_code == 413


def test_security_headers(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "max-age" in response.headers["strict-transport-security"]


def test_ip_rate_limit(client: TestClient, services: Services) -> None:
    services.settings.api.rate_limit_per_ip = 3
    codes = [client.get("/api/v1/me").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert services.metrics.value("lumen_rate_limit_hits_total", scope="ip") == 1.0


def test_cache_degrades_to_a_miss_when_the_store_is_down(services: Services) -> None:
    dead = RedisKV("redis://127.0.0.1:1/0", prefix="x:", timeout_s=0.2, clock=ManualClock())
    cache = AnswerCache(dead, services.keyring, ttl_s=60, identity="test")
    key = cache.key("What is glaucoma?", ("knowledge",))
    assert cache.get(key) is None
    cache.put(key, {"answer": "x"}, user_id="u")  # no exception


def test_embedded_defaults_need_no_configuration(tmp_path: Path, rag_lumen: object) -> None:
    from lumen.factory import build_services
    from lumen.settings import Settings

    settings = Settings(paths={"data_dir": tmp_path / "data"})
    built = build_services(settings, lumen=rag_lumen)  # type: ignore[arg-type]
    try:
        assert built.database.dialect == "sqlite"
        assert (tmp_path / "data" / "lumen.db").is_file()
        key_file = tmp_path / "data" / "keys.json"
        assert key_file.is_file()
        assert (key_file.stat().st_mode & 0o077) == 0
    finally:
        built.close()
