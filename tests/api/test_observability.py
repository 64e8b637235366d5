"""The service's metrics on both stacks: answer stages, verifier, feedback, usage, audit chain."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from lumen.clock import ManualClock
from lumen.db.models import AuditEvent
from lumen.services.container import Services

from .conftest import Account, sign_up

QUESTION = "What are the symptoms of glaucoma?"


def ask(client: TestClient, who: Account, content: str = QUESTION) -> dict[str, object]:
    conversation = client.post("/api/v1/conversations", json={}, headers=who.headers).json()["id"]
    response = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": content},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text
    message: dict[str, object] = response.json()
    return message


def test_answer_stages_verifier_and_feedback(
    client: TestClient, alice: Account, services: Services
) -> None:
    metrics = services.metrics
    message = ask(client, alice)
    answer = message["answer"]
    assert isinstance(answer, dict)
    mode = str(answer["mode"])
    assert metrics.value("lumen_answers_total", mode=mode) == 1
    for stage in ("triage", "retrieve"):
        assert metrics.value("lumen_answer_stage_seconds_count", stage=stage) == 1
    timings = answer["timings_ms"]
    assert isinstance(timings, dict)
    generated = 1 if timings.get("generate") else 0
    assert metrics.value("lumen_answer_stage_seconds_count", stage="generate") == generated
    assert metrics.value("lumen_answer_stage_seconds_sum", stage="retrieve") == (
        timings["retrieve"] / 1000
    )
    sentences = answer["sentences"]
    assert isinstance(sentences, list)
    assert metrics.value("lumen_verifier_dropped_sentences_total") == answer["dropped_sentences"]
    assert metrics.value("lumen_verifier_kept_sentences_total") == len(sentences)
    assert metrics.value("lumen_answer_budget_cuts_total") == timings.get("budget_cut", 0.0)

    url = f"/api/v1/messages/{message['id']}/feedback"
    assert client.post(url, json={"rating": -1}, headers=alice.headers).status_code == 201
    assert client.post(url, json={"rating": 1}, headers=alice.headers).status_code == 201
    assert metrics.value("lumen_feedback_total", rating="down") == 1
    assert metrics.value("lumen_feedback_total", rating="up") == 1
    assert metrics.value("lumen_db_query_seconds_count") > 0
    assert metrics.value("lumen_http_requests_in_flight") == 0


def test_usage_counts_by_window_and_role(
    client: TestClient, alice: Account, services: Services, clock: ManualClock
) -> None:
    from lumen.db.models import User

    pharma = sign_up(client, "pharma@example.org")
    with services.database.session() as db:
        db.execute(update(User).where(User.id == pharma.id).values(role="pharma"))
    crisis = "I want to kill myself"  # answered by triage alone: fast
    ask(client, alice, crisis)
    ask(client, alice, crisis)
    ask(client, pharma, crisis)

    def scrape(name: str, **labels: str) -> float:
        client.get("/metrics")
        return services.metrics.value(name, **labels)

    assert scrape("lumen_active_users", window="day") == 2
    assert scrape("lumen_usage_questions", window="day", role="patient") == 2
    assert scrape("lumen_usage_questions", window="day", role="pharma") == 1
    assert scrape("lumen_questions_per_active_user", window="day") == 1.5
    clock.advance(2 * 86_400)  # two days later: out of the day, still in the month
    assert scrape("lumen_active_users", window="day") == 0
    assert scrape("lumen_active_users", window="month") == 2
    assert scrape("lumen_usage_questions", window="month", role="patient") == 2
    text = client.get("/metrics").text
    assert alice.id not in text
    assert pharma.id not in text
    assert "example.org" not in text


def test_audit_chain_gauge_turns_to_zero_when_a_row_changes(
    client: TestClient, alice: Account, services: Services, clock: ManualClock
) -> None:
    client.get("/metrics")
    assert services.metrics.value("lumen_audit_chain_ok") == 1
    rows = services.metrics.value("lumen_audit_chain_rows")
    assert rows > 0
    with services.database.session() as db:
        db.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(outcome="denied"))
    client.get("/metrics")
    assert services.metrics.value("lumen_audit_chain_ok") == 1  # not rechecked yet
    clock.advance(services.settings.observability.audit_check_interval_s)
    client.get("/metrics")
    assert services.metrics.value("lumen_audit_chain_ok") == 0


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-abc-12345"})
    assert given.headers["x-request-id"] == "trace-abc-12345"
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    assert made != client.get("/healthz").headers["x-request-id"]
