"""A GGUF model run in-process by llama.cpp (default: SmolLM2-135M-Instruct)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lumen.components.llm.base import GenerationParams, Message
from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)


class LlamaCppLLM:
    """llama.cpp through llama-cpp-python; one generation at a time (the model is not reentrant)."""

    def __init__(
        self, model_path: Path, *, context_window: int = 2048, threads: int = 0, seed: int = 0
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingExtraError("llama-cpp-python", "embedded") from exc
        if not model_path.is_file():
            raise ComponentError(f"GGUF model file not found: {model_path}")
        kwargs: dict[str, Any] = {"n_ctx": context_window, "seed": seed, "verbose": False}
        if threads:
            kwargs["n_threads"] = threads
        try:
            self._llama = Llama(model_path=str(model_path), **kwargs)
        except (ValueError, RuntimeError) as exc:
            raise ComponentError(f"llama.cpp cannot load {model_path}: {exc}") from exc
        self._lock = threading.Lock()
        self._name = model_path.name
        self._context_window = context_window
        logger.info("loaded %s in llama.cpp (n_ctx=%s)", model_path.name, context_window)

    @property
    def identity(self) -> str:
        """Backend and model file."""
        return f"llama_cpp:{self._name}"

    @property
    def context_window(self) -> int:
        """Context window in tokens."""
        return self._context_window

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (for log-likelihood scoring)."""
        return self._llama

    def count_tokens(self, text: str) -> int:
        """Exact token count under the model's tokenizer."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Stream a chat completion; raises ComponentError past ``params.timeout_s``."""
        deadline = time.monotonic() + params.timeout_s
        with self._lock:
            llama: Any = self._llama  # llama-cpp-python's TypedDicts are stricter than its API
            stream = llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                repeat_penalty=1.15,
                stop=list(params.stop) or None,
                stream=True,
            )
            for event in stream:
                if time.monotonic() > deadline:
                    raise ComponentError(
                        f"the language model did not finish within {params.timeout_s:g} s"
                    )
                piece = event["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
