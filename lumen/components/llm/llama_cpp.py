"""A GGUF model run in-process by llama.cpp (default: SmolLM2-135M-Instruct)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lumen.components.llm.base import GenerationParams, LLMTimeout, Message
from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)


def opening_bias_processor(llama: Any, bias: Mapping[str, float]) -> Any:
    """A llama.cpp logits processor adding ``bias`` to words' first tokens at the first step.

    Each word counts in its lower-case and capitalised forms, as an answer's first token (no
    leading space). A fresh processor is needed per generation: it remembers its first step.
    """
    import numpy as np

    offsets: dict[int, float] = {}
    for word, value in bias.items():
        for tokens in _form_tokens(llama, word):
            offsets[tokens[0]] = float(value)
    ids = np.array(list(offsets), dtype=np.int64)
    values = np.array(list(offsets.values()), dtype=np.float32)
    first_length: list[int] = []

    def process(input_ids: Any, scores: Any) -> Any:
        if not first_length:
            first_length.append(len(input_ids))
        if len(input_ids) == first_length[0] and len(ids):
            scores = scores.copy()
            scores[ids] += values
        return scores

    return process


def _form_tokens(llama: Any, word: str) -> list[list[int]]:
    """The token sequences of ``word`` opening an answer, lower-case and capitalised."""
    forms = dict.fromkeys([word.lower(), word.capitalize()])
    sequences = [
        [int(t) for t in llama.tokenize(form.encode("utf-8"), add_bos=False, special=False)]
        for form in forms
    ]
    return [s for s in sequences if s]


def verdict_opening_processor(
    llama: Any, words: Sequence[str], bias: Mapping[str, float] | None = None
) -> Any:
    """A llama.cpp logits processor that opens the answer with the likeliest of ``words``.

    At the first step each word's probability is its case forms' first-token probabilities
    summed (plus ``bias[word]`` in log space); the winner's likelier form is then forced,
    token by token, and the rest of the answer is generated freely. For single-token words
    this is the log-likelihood reading of the evaluation, so greedy answers and that reading
    agree. A fresh processor is needed per generation.
    """
    import numpy as np

    bias = bias or {}
    candidates = [(w, _form_tokens(llama, w)) for w in dict.fromkeys(w.lower() for w in words)]
    candidates = [(w, forms) for w, forms in candidates if forms]
    forced: list[int] = []
    start: list[int] = []

    def force(scores: Any, token: int) -> Any:
        kept = np.full_like(scores, -np.inf)
        kept[token] = scores[token]
        return kept

    def process(input_ids: Any, scores: Any) -> Any:
        if not candidates:
            return scores
        if not start:
            start.append(len(input_ids))
            best_mass, best_form = -np.inf, candidates[0][1][0]
            for word, forms in candidates:
                firsts = np.array([scores[f[0]] for f in forms], dtype=np.float64)
                mass = float(np.logaddexp.reduce(firsts)) + float(bias.get(word, 0.0))
                if mass > best_mass:
                    best_mass, best_form = mass, forms[int(np.argmax(firsts))]
            forced.extend(best_form)
        step = len(input_ids) - start[0]
        if step < len(forced):
            return force(scores, forced[step])
        return scores

    return process


def opening_processor(
    llama: Any, words: Sequence[str], bias: Mapping[str, float] | None
) -> Any | None:
    """An answer opening's logits processor: verdict-first with ``words``, else ``bias`` alone."""
    if words:
        return verdict_opening_processor(llama, words, bias)
    if bias:
        return opening_bias_processor(llama, bias)
    return None


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
        """Stream a chat completion; raises LLMTimeout past ``params.timeout_s``.

        The clock starts once this generation holds the model, not while it waits for it.
        """
        with self._lock:
            deadline = time.monotonic() + params.timeout_s
            llama: Any = self._llama  # llama-cpp-python's TypedDicts are stricter than its API
            extra: dict[str, Any] = {}
            processor = opening_processor(llama, params.opening_words, params.opening_bias)
            if processor is not None:
                from llama_cpp import LogitsProcessorList

                extra["logits_processor"] = LogitsProcessorList([processor])
            stream = llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                repeat_penalty=1.15,
                stop=list(params.stop) or None,
                stream=True,
                **extra,
            )
            for event in stream:
                if time.monotonic() > deadline:
                    raise LLMTimeout(
                        f"the language model did not finish within {params.timeout_s:g} s"
                    )
                piece = event["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
