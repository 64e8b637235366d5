"""The official ``openai`` SDK against a real ``lumen serve`` (SQLite, the embedded Qdrant
engine, MiniLM and SmolLM2): models, a cited answer plain and streamed, the crisis response
first, OpenAI-style errors, a revoked key and another user's key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lumen.factory import build_lumen
from lumen.safety.responses import crisis_response
from lumen.settings import Settings

from ..corpus import medquad_subset
from .conftest import PASSWORD

openai = pytest.importorskip("openai", reason="the openai SDK comes with the 'server' extra")

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "What are the symptoms of glaucoma?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``lumen serve`` and its base URL."""

    base: str
    process: subprocess.Popen[str]

    def sign_up(self, email: str) -> str:
        """A new account's session token."""
        with httpx.Client(base_url=self.base) as client:
            created = client.post(
                "/api/v1/auth/signup", json={"email": email, "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
            login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            return str(login.json()["token"])

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        """A call to Lumen's own API with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def new_key(self, session: str, **fields: Any) -> dict[str, Any]:
        """A new API key of the session's account."""
        response = self.api("POST", "/api/v1/me/api-keys", session, json={"name": "sdk", **fields})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def sdk(self, key: str) -> Any:
        """The official client pointed at this server."""
        return openai.OpenAI(base_url=f"{self.base}/v1", api_key=key, max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def server(  # type: ignore[no-untyped-def]
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, model_cache: Path, embedder
) -> Iterator[Server]:
    """A data folder with a dozen MedQuAD documents indexed, served on a free port."""
    root = tmp_path_factory.mktemp("openai-serve")
    data_dir = root / "data"
    (data_dir).mkdir()
    (data_dir / "models").symlink_to(model_cache, target_is_directory=True)
    from lumen.ingest.loaders import get_loader

    settings = Settings(paths={"data_dir": data_dir, "sources_dir": shared_data})
    with build_lumen(settings, embedder=embedder) as lumen:
        documents = get_loader("medquad").load(
            medquad_subset(shared_data, root), collection="knowledge", report=lambda *_: None
        )
        lumen.ingestor.ingest(documents, collection="knowledge")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LUMEN_") or key == "LUMEN_PATHS__SOURCES_DIR"
    }
    env.update(
        LUMEN_PATHS__DATA_DIR=str(data_dir),
        LUMEN_API__PORT=str(port),
        LUMEN_API__RATE_LIMIT_PER_IP="10000",
        LUMEN_LLM__TIMEOUT_S="300",  # two busy cores: slow, never wrong
        HF_HUB_OFFLINE="1",
    )
    log = (root / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "lumen.cli.main", "serve", "--insecure-cookies"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if process.poll() is not None:
                pytest.fail((root / "serve.log").read_text())
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("lumen serve did not start")
        yield Server(base, process)
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
    output = (root / "serve.log").read_text()
    assert "Traceback" not in output, output[-5000:]


def test_models_and_a_cited_answer_plain_and_streamed(server: Server) -> None:
    session = server.sign_up("alice@example.org")
    key = server.new_key(session)
    client = server.sdk(key["key"])
    assert [m.id for m in client.models.list()] == ["lumen"]

    completion = client.chat.completions.create(
        model="lumen", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content
    citations = completion.model_extra["citations"]
    assert citations
    assert all("glaucoma" in c["title"].lower() for c in citations)
    assert all(f"[{c['n']}]" in content for c in citations)
    assert "Sources:" in content
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    conversation = completion.model_extra["lumen"]["conversation_id"]
    stored = server.api("GET", f"/api/v1/conversations/{conversation}", session).json()
    assert stored["messages"][0]["question"] == QUESTION

    stream = client.chat.completions.create(
        model="lumen",
        messages=[{"role": "user", "content": "How is glaucoma treated?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1
    streamed_citations = finals[0].model_extra["citations"]
    assert streamed_citations
    assert all(f"[{c['n']}]" in text for c in streamed_citations)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_crisis_first_and_unchanged_through_the_sdk(server: Server) -> None:
    client = server.sdk(server.new_key(server.sign_up("carol@example.org"))["key"])
    stream = client.chat.completions.create(
        model="lumen",
        messages=[{"role": "user", "content": "I want to end my life tonight"}],
        stream=True,
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices]
    text = "".join(p for p in pieces if p)
    expected = crisis_response().text
    assert text == expected
    first = next(p for p in pieces if p)
    assert expected.startswith(first)


def test_errors_revoked_keys_and_another_users_key(server: Server) -> None:
    alice_session = server.sign_up("dave@example.org")
    alice_key = server.new_key(alice_session)
    client = server.sdk(alice_key["key"])
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="lumen", n=2, messages=[{"role": "user", "content": QUESTION}]
        )
    assert bad.value.param == "n"
    assert bad.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="lumen",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                }
            ],
        )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="lumen-drugs", messages=[{"role": "user", "content": QUESTION}]
        )
    with pytest.raises(openai.AuthenticationError):
        server.sdk("lmn_" + "x" * 43).models.list()

    crisis = client.chat.completions.create(
        model="lumen", messages=[{"role": "user", "content": "I want to kill myself"}]
    )
    conversation = crisis.model_extra["lumen"]["conversation_id"]

    # Another user's key: Bob reads none of Alice's conversations (the 404 of a missing one).
    bob_session = server.sign_up("erin@example.org")
    bob_key = server.new_key(bob_session)["key"]
    theirs = server.api("GET", f"/api/v1/conversations/{conversation}", bob_key)
    missing = server.api(
        "GET", "/api/v1/conversations/00000000-0000-0000-0000-000000000000", bob_key
    )
    assert theirs.status_code == missing.status_code == 404
    assert server.api("GET", "/api/v1/conversations", bob_key).json()["total"] == 0
    assert (
        server.api("GET", f"/api/v1/conversations/{conversation}", alice_key["key"]).status_code
        == 200
    )

    revoked = server.api("DELETE", f"/api/v1/me/api-keys/{alice_key['id']}", alice_session)
    assert revoked.status_code == 204
    with pytest.raises(openai.AuthenticationError) as denied:
        client.models.list()
    assert denied.value.code == "invalid_api_key"
