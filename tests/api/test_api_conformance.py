"""The OpenAPI schema matches behaviour (issue #19): documented error statuses, 405 rather
than 404 for a wrong method under /api, and schemathesis against the app in-process."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lumen.services.container import Services

from .conftest import Account, make_admin, sign_up

API = "/api/v1"


def test_a_wrong_method_on_an_api_path_is_a_405(
    web_app: tuple[FastAPI, Services, TestClient],
) -> None:
    _, _, client = web_app
    wrong = client.delete(f"{API}/auth/login")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert client.put(f"{API}/conversations/abc").status_code == 405
    assert client.get(f"{API}/no-such-route").status_code == 404
    assert client.get("/").status_code == 200  # the web app still serves its pages


def test_error_statuses_are_documented(web_app: tuple[FastAPI, Services, TestClient]) -> None:
    app, _, _ = web_app
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    operations = {
        (method.upper(), path): operation
        for path, item in paths.items()
        for method, operation in item.items()
    }
    for (_method, path), operation in operations.items():
        if path.startswith(API):
            assert {"400", "413", "422", "503"} <= set(operation["responses"]), path
    for key in [
        ("POST", f"{API}/auth/signup"),
        ("POST", f"{API}/auth/totp/setup"),
        ("POST", f"{API}/auth/totp/enable"),
        ("PATCH", f"{API}/admin/users/{{user_id}}"),
    ]:
        assert "409" in operations[key]["responses"], key
    asked = operations[("POST", f"{API}/conversations/{{conversation_id}}/messages")]
    assert {"503", "504"} <= set(asked["responses"])
    assert "$ref" in str(asked["responses"]["504"])  # with the error body's schema


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_or_schema_mismatch(
    web_app: tuple[FastAPI, Services, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every operation with generated data (a few examples each), signed in as an admin."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
        unsupported_method,
    )

    app, services, client = web_app
    pipeline = services.lumen.pipeline
    quick: Any = pipeline._settings
    monkeypatch.setattr(
        pipeline,
        "_settings",
        quick.model_copy(update={"llm": quick.llm.model_copy(update={"max_answer_tokens": 16})}),
    )
    admin: Account = make_admin(services, sign_up(client, "admin@example.org"))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        unsupported_method,
    ]
    failures: list[str] = []
    calls = 0
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=st.one_of(*(operation.as_strategy(generation_mode=m) for m in modes)))
        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            # Sign-outs, password changes and deletions would end the admin's session.
            token, _ = services.sessions.create(admin.id, "admin")
            try:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
            except Exception as exc:
                failures.append(f"{case.operation.label}: {type(exc).__name__}: {str(exc)[:300]}")

        run()
    assert calls > 50
    assert not failures, "\n".join(failures)
