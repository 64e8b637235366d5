"""The OpenAI-compatible backend against a real server: llama.cpp's, serving SmolLM2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from lumen.components.llm.base import GenerationParams, Message
from lumen.components.llm.openai_compat import OpenAICompatLLM
from lumen.components.model_files import smollm2_gguf
from lumen.errors import ComponentError

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    pytest.importorskip("llama_cpp.server")
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_gguf()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--model_alias",
            "smollm2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("llama.cpp server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_streams_a_chat_completion(server_url: str) -> None:
    llm = OpenAICompatLLM(
        base_url=server_url, model="smollm2", api_key="none", context_window=2048, timeout_s=30
    )
    pieces = list(
        llm.stream_chat(
            [Message("user", "Name one organ of the human body.")],
            GenerationParams(max_tokens=24, temperature=0.0),
        )
    )
    assert len(pieces) > 1
    assert "".join(pieces).strip()
    assert llm.ping()


def test_timeout_is_a_clear_error(server_url: str) -> None:
    llm = OpenAICompatLLM(
        base_url=server_url, model="smollm2", api_key="none", context_window=2048, timeout_s=0.001
    )
    with pytest.raises(ComponentError, match=r"timed out|cannot reach"):
        list(
            llm.stream_chat(
                [Message("user", "Hello")], GenerationParams(max_tokens=64, timeout_s=0.001)
            )
        )


def test_unreachable_server_is_a_clear_error() -> None:
    llm = OpenAICompatLLM(
        base_url=f"http://127.0.0.1:{_free_port()}/v1",
        model="m",
        api_key="none",
        context_window=2048,
        timeout_s=2,
    )
    with pytest.raises(ComponentError, match="cannot reach"):
        list(llm.stream_chat([Message("user", "Hello")], GenerationParams(max_tokens=8)))
    assert not llm.ping()
