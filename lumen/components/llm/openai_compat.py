"""Any OpenAI-compatible chat server: vLLM, TGI, llama.cpp server."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from lumen.components.llm.base import GenerationParams, LLMTimeout, Message
from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)

# Without the server's tokenizer, assume a token per 3 characters: an over-estimate for English,
# so prompts stay inside the window.
_CHARS_PER_TOKEN = 3.0


class OpenAICompatLLM:
    """Chat completions over HTTP with streaming and a timeout."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str,
        context_window: int,
        timeout_s: float,
    ) -> None:
        try:
            import openai
        except ImportError as exc:
            raise MissingExtraError("openai", "server") from exc
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self._base_url = base_url
        self._model = model
        self._context_window = context_window

    @property
    def identity(self) -> str:
        """Backend, server and model."""
        return f"openai:{self._base_url}#{self._model}"

    @property
    def context_window(self) -> int:
        """Context window in tokens (from settings)."""
        return self._context_window

    @property
    def client(self) -> Any:
        """The ``openai.OpenAI`` client (for log-likelihood scoring)."""
        return self._client

    @property
    def model(self) -> str:
        """Model name on the server."""
        return self._model

    def ping(self) -> bool:
        """Whether the server answers its model list within a few seconds."""
        try:
            self._client.with_options(timeout=5.0).models.list()
        except Exception as exc:
            logger.warning("LLM server not ready: %s", type(exc).__name__)
            return False
        return True

    def count_tokens(self, text: str) -> int:
        """An upper estimate of the token count."""
        return int(len(text) / _CHARS_PER_TOKEN) + 1

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Stream a chat completion; server errors become one-line ComponentErrors."""
        try:
            client: Any = self._client  # the SDK's TypedDicts are stricter than the API
            stream = client.chat.completions.create(
                model=self._model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                stop=list(params.stop) or None,
                stream=True,
                timeout=params.timeout_s,
            )
            with stream:  # a caller that stops reading closes the server's stream too
                for event in stream:
                    if not event.choices:
                        continue
                    piece = event.choices[0].delta.content
                    if piece:
                        yield piece
        except self._openai.APITimeoutError as exc:
            raise LLMTimeout(
                f"the language model server at {self._base_url} timed out "
                f"after {params.timeout_s:g} s"
            ) from exc
        except self._openai.APIConnectionError as exc:
            raise ComponentError(
                f"cannot reach the language model server at {self._base_url}"
            ) from exc
        except self._openai.APIStatusError as exc:
            raise ComponentError(
                f"the language model server at {self._base_url} answered HTTP "
                f"{exc.status_code}: {exc.message}"
            ) from exc
