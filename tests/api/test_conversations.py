"""Conversations and answers through the API, with the real pipeline (MiniLM, Qdrant, SmolLM2)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from lumen.components.llm.base import GenerationParams, Message
from lumen.errors import ComponentError
from lumen.services.container import Services

from .conftest import Account, make_admin

QUESTION = "What are the symptoms of glaucoma?"


def new_conversation(client: TestClient, who: Account, title: str | None = None) -> str:
    response = client.post("/api/v1/conversations", json={"title": title}, headers=who.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ask(client: TestClient, who: Account, conversation_id: str, **body: object):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": QUESTION, **body},
        headers=who.headers,
    )


def parse_sse(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.slow
def test_question_gets_a_verified_cited_answer_and_is_stored(
    client: TestClient, alice: Account
) -> None:
    conversation = new_conversation(client, alice)
    response = ask(client, alice, conversation)
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["status"] == "answered"
    answer = message["answer"]
    assert not answer["abstained"]
    assert answer["citations"], "a grounded answer cites its sources"
    assert all("glaucoma" in c["title"].lower() for c in answer["citations"])
    assert answer["disclaimer"]
    assert "draft" not in answer

    stored = client.get(f"/api/v1/conversations/{conversation}", headers=alice.headers).json()
    assert stored["title"] == QUESTION  # the first question names the conversation
    assert [m["id"] for m in stored["messages"]] == [message["id"]]
    assert stored["messages"][0]["answer"]["answer"] == answer["answer"]


@pytest.mark.slow
def test_stream_sends_tokens_then_the_final_verified_answer(
    client: TestClient, alice: Account, services: Services
) -> None:
    conversation = new_conversation(client, alice)
    response = ask(client, alice, conversation, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "message"
    assert kinds[-1] == "final"
    assert "token" in kinds
    assert kinds.index("token") < kinds.index("final")
    assert set(kinds[1:-1]) == {"token"}
    final = events[-1][1]
    assert final["id"] == events[0][1]["id"]
    assert final["status"] == "answered"
    assert final["answer"]["citations"]  # type: ignore[index]


def test_crisis_message_gets_the_crisis_response_first(client: TestClient, alice: Account) -> None:
    conversation = new_conversation(client, alice)
    response = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "I want to end my life tonight", "stream": True},
        headers=alice.headers,
    )
    events = parse_sse(response.text)
    assert [kind for kind, _ in events] == ["message", "final"]
    answer = events[-1][1]["answer"]
    assert answer["mode"] == "crisis"  # type: ignore[index]
    assert "988" in answer["answer"]  # type: ignore[index]


@pytest.mark.slow
def test_second_identical_question_comes_from_the_cache(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    first = ask(client, alice, new_conversation(client, alice)).json()
    second = ask(client, bob, new_conversation(client, bob)).json()
    assert not first["cached"]
    assert second["cached"]
    assert second["answer"]["answer"] == first["answer"]["answer"]
    assert services.metrics.value("lumen_answer_cache_total", result="hit") == 1.0

    # A re-ingest moves the index to a new generation: the cached answer is not served.
    from lumen.ingest.pipeline import GENERATION_KEY

    store = services.lumen.store
    key = GENERATION_KEY.format(collection="knowledge")
    previous = store.get_metadata(key)
    store.set_metadata(key, "re-ingested")
    try:
        third = ask(client, bob, new_conversation(client, bob)).json()
    finally:
        store.set_metadata(key, previous)
    assert not third["cached"]


def test_questions_with_personal_data_or_profile_are_never_cached(services: Services) -> None:
    cache = services.cache
    assert cache.cacheable(QUESTION, used_profile=False)
    assert not cache.cacheable(QUESTION, used_profile=True)
    assert not cache.cacheable(
        "My name is Jane Doe, email jane.doe@example.com: what is glaucoma?", used_profile=False
    )


def test_patients_search_knowledge_only(
    client: TestClient, alice: Account, services: Services
) -> None:
    conversation = new_conversation(client, alice)
    denied = ask(client, alice, conversation, collections=["drugs"])
    assert denied.status_code == 403
    assert "drugs" in denied.json()["error"]["message"]
    unknown = ask(client, alice, conversation, collections=["secrets"])
    assert unknown.status_code == 422
    pharma = make_admin(services, alice)
    crisis = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "I want to kill myself", "collections": ["drugs", "regulatory"]},
        headers=pharma.headers,
    )
    assert crisis.status_code == 201
    assert crisis.json()["collections"] == ["drugs", "regulatory"]


def test_use_profile_needs_a_profile(client: TestClient, alice: Account) -> None:
    conversation = new_conversation(client, alice)
    response = ask(client, alice, conversation, use_profile=True)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "use_profile"


@pytest.mark.slow
def test_profile_consent_shapes_the_prompt_and_skips_the_cache(
    client: TestClient, alice: Account, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post(
        "/api/v1/profiles", json={"medications": ["warfarin"]}, headers=alice.headers
    ).raise_for_status()
    llm = services.lumen.pipeline.llm
    prompts: list[str] = []
    original = llm.stream_chat

    def spy(messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        prompts.append("\n".join(m.content for m in messages))
        return original(messages, params)

    monkeypatch.setattr(llm, "stream_chat", spy)
    conversation = new_conversation(client, alice)
    with_profile = ask(client, alice, conversation, use_profile=True)
    assert with_profile.status_code == 201, with_profile.text
    assert with_profile.json()["used_profile"] is True
    assert "warfarin" in prompts[-1]
    without = ask(client, alice, conversation)
    assert without.json()["used_profile"] is False
    assert "warfarin" not in prompts[-1]
    assert services.metrics.value("lumen_answer_cache_total", result="hit") == 0.0


class TimingOutLLM:
    """Failure injection: a backend that times out."""

    identity = "timeout"
    context_window = 2048

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        raise ComponentError("the language model timed out after 30 s")


def test_model_timeout_is_a_504_and_the_question_is_kept(
    client: TestClient, alice: Account, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.lumen.pipeline, "_llm", TimingOutLLM())
    conversation = new_conversation(client, alice)
    response = ask(client, alice, conversation)
    assert response.status_code == 504
    error = response.json()["error"]
    assert "saved" in error["message"]
    stored = client.get(f"/api/v1/conversations/{conversation}", headers=alice.headers).json()
    assert stored["messages"][0]["id"] == error["message_id"]
    assert stored["messages"][0]["status"] == "failed"
    assert stored["messages"][0]["question"] == QUESTION

    streamed = ask(client, alice, conversation, stream=True)
    kinds = parse_sse(streamed.text)
    assert kinds[-1][0] == "error"
    assert kinds[-1][1]["status"] == 504


def test_rate_limit_per_user_is_a_429_with_retry_after(
    client: TestClient, alice: Account, services: Services
) -> None:
    services.settings.api.rate_limit_per_user = 2
    conversation = new_conversation(client, alice)
    body = {"content": "I want to kill myself"}  # answered without the model: fast
    url = f"/api/v1/conversations/{conversation}/messages"
    for _ in range(2):
        assert client.post(url, json=body, headers=alice.headers).status_code == 201
    refused = client.post(url, json=body, headers=alice.headers)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert services.metrics.value("lumen_rate_limit_hits_total", scope="ask") == 1.0


def test_conversations_list_paginate_search_rename_delete(
    client: TestClient, alice: Account
) -> None:
    ids = [new_conversation(client, alice, f"Topic {n}") for n in range(5)]
    page = client.get("/api/v1/conversations?limit=2&offset=1", headers=alice.headers).json()
    assert page["total"] == 5
    assert page["limit"] == 2
    assert len(page["items"]) == 2
    found = client.get("/api/v1/conversations?q=topic 3", headers=alice.headers).json()
    assert [c["title"] for c in found["items"]] == ["Topic 3"]
    renamed = client.patch(
        f"/api/v1/conversations/{ids[0]}", json={"title": "Eyes"}, headers=alice.headers
    )
    assert renamed.json()["title"] == "Eyes"
    assert (
        client.delete(f"/api/v1/conversations/{ids[0]}", headers=alice.headers).status_code == 204
    )
    assert client.get(f"/api/v1/conversations/{ids[0]}", headers=alice.headers).status_code == 404
    bad = client.get("/api/v1/conversations?limit=1000", headers=alice.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "limit"


def test_feedback_is_stored_and_listed_for_admins(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    conversation = new_conversation(client, alice)
    message = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "I want to kill myself"},
        headers=alice.headers,
    ).json()
    url = f"/api/v1/messages/{message['id']}/feedback"
    given = client.post(url, json={"rating": -1, "comment": "too short"}, headers=alice.headers)
    assert given.status_code == 201
    assert client.post(url, json={"rating": 5}, headers=alice.headers).status_code == 422
    assert client.post(url, json={"rating": 1}, headers=bob.headers).status_code == 404
    assert client.get("/api/v1/admin/feedback", headers=alice.headers).status_code == 403
    admin = make_admin(services, bob)
    listed = client.get("/api/v1/admin/feedback", headers=admin.headers).json()
    assert listed["total"] == 1
    assert listed["items"][0]["comment"] == "too short"
    assert listed["items"][0]["rating"] == -1
