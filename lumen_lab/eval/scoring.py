"""Scoring answers: option log-likelihoods (llama.cpp or an OpenAI-compatible server) and parsing.

Log-likelihood scoring, as in lm-evaluation-harness: the model reads ``context`` and each
option's tokens are scored as its continuation; the option with the highest summed log-prob
wins (``acc``), or the highest per byte (``acc_norm``). Small models that cannot follow an
answer format are still measured fairly this way.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lumen.components.llm.base import LLM
from lumen.errors import ComponentError

logger = logging.getLogger(__name__)


class LogprobsUnavailable(ComponentError):
    """The model or server cannot return prompt log-probabilities."""


@dataclass(frozen=True)
class ContinuationScore:
    """The log-likelihood of one continuation given the context."""

    logprob: float
    n_tokens: int
    n_bytes: int

    @property
    def per_byte(self) -> float:
        """Log-likelihood divided by the continuation's length in bytes (``acc_norm``)."""
        return self.logprob / max(self.n_bytes, 1)


class LoglikelihoodScorer(Protocol):
    """Scores continuations of a context."""

    def score(self, context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Summed log-prob of each continuation's tokens after ``context``."""


def best_option(scores: Sequence[ContinuationScore], *, normalize: bool = False) -> int:
    """Index of the best-scoring option (first one on ties)."""
    values = [s.per_byte if normalize else s.logprob for s in scores]
    return int(np.argmax(values))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    values = logits.astype(np.float64)
    peak = values.max()
    result: np.ndarray = values - peak - np.log(np.exp(values - peak).sum())
    return result


_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(owner: Any) -> threading.Lock:
    """The lock that serialises use of ``owner``'s model: its own lock if it has one."""
    own = getattr(owner, "_lock", None)
    if isinstance(own, type(threading.Lock())):
        return own
    with _LOCKS_GUARD:
        lock = _LOCKS.get(owner)
        if lock is None:
            lock = threading.Lock()
            _LOCKS[owner] = lock
        return lock


class LlamaCppScorer:
    """Log-likelihoods from an in-process ``llama_cpp.Llama``, without ``logits_all``.

    The context is evaluated once through ``Llama.eval``; each option is decoded in one batch
    that asks for logits at every position, read with ``llama_get_logits_ith``; the KV cache is
    then cut back to the context (``n_tokens`` + ``eval([])``) for the next option. Generation
    through the same model is safe afterwards: ``Llama``'s own bookkeeping stays consistent.
    """

    def __init__(self, llama: Any, *, lock: threading.Lock | None = None) -> None:
        import llama_cpp

        self._api = llama_cpp
        self._llama = llama
        self._lock = lock or _lock_for(llama)
        self._n_vocab = int(llama.n_vocab())
        self._n_ctx = int(llama.n_ctx())
        self._n_batch = int(getattr(llama, "n_batch", 512))

    @classmethod
    def for_llm(cls, llm: Any) -> LlamaCppScorer:
        """A scorer sharing a LlamaCppLLM's model and generation lock."""
        return cls(llm.llama, lock=_lock_for(llm))

    def _tokens(self, text: str, *, bos: bool) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def _continuation_tokens(self, context: list[int], context_text: str, text: str) -> list[int]:
        whole = self._tokens(context_text + text, bos=True)
        if whole[: len(context)] == context and len(whole) > len(context):
            return whole[len(context) :]
        return self._tokens(text, bos=False)

    def score(self, context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Summed log-prob of each continuation's tokens after ``context``."""
        context_tokens = self._tokens(context, bos=True)
        if not context_tokens:
            raise ValueError("empty context")
        options = [self._continuation_tokens(context_tokens, context, c) for c in continuations]
        longest = max((len(o) for o in options), default=0)
        if len(context_tokens) + longest > self._n_ctx:
            raise ComponentError(
                f"prompt of {len(context_tokens)} tokens and an option of {longest} do not fit "
                f"the context window of {self._n_ctx}"
            )
        llama = self._llama
        results = []
        with self._lock:
            llama.reset()
            llama.eval(context_tokens[:-1])
            base = int(llama.n_tokens)
            for text, tokens in zip(continuations, options, strict=True):
                try:
                    logprob = self._continuation_logprob(base, context_tokens[-1], tokens)
                finally:
                    llama.n_tokens = base
                    llama.eval([])  # drops the option's tokens from the KV cache
                results.append(ContinuationScore(logprob, len(tokens), len(text.encode("utf-8"))))
        return results

    def _continuation_logprob(self, base: int, last_context: int, tokens: list[int]) -> float:
        api = self._api
        inputs = [last_context, *tokens[:-1]]
        total = 0.0
        position = base
        offset = 0
        while offset < len(inputs):
            part = inputs[offset : offset + self._n_batch]
            batch = api.llama_batch_init(len(part), 0, 1)
            try:
                batch.n_tokens = len(part)
                for i, token in enumerate(part):
                    batch.token[i] = token
                    batch.pos[i] = position + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 1
                status = api.llama_decode(self._llama.ctx, batch)
                if status != 0:
                    raise ComponentError(f"llama.cpp could not decode the option (status {status})")
                for i in range(len(part)):
                    pointer = api.llama_get_logits_ith(self._llama.ctx, i)
                    logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
                    total += float(_log_softmax(logits)[tokens[offset + i]])
            finally:
                api.llama_batch_free(batch)
            position += len(part)
            offset += len(part)
        return total


class OpenAICompletionsScorer:
    """Log-likelihoods from an OpenAI-compatible server: completions with echo and logprobs.

    vLLM and the llama.cpp server return prompt log-probs this way; chat-only servers do not,
    and raise LogprobsUnavailable (the caller falls back to generation scoring).
    """

    def __init__(self, client: Any, model: str) -> None:
        self._client = client
        self._model = model

    def score(self, context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Summed log-prob of each continuation's tokens after ``context``."""
        prompts = [context + c for c in continuations]
        try:
            response = self._client.completions.create(
                model=self._model,
                prompt=prompts,
                max_tokens=1,
                temperature=0.0,
                echo=True,
                logprobs=1,
            )
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if isinstance(status, int) and 400 <= status < 500:
                raise LogprobsUnavailable(
                    f"the server refused a completions request with echo and logprobs "
                    f"(HTTP {status})"
                ) from exc
            raise ComponentError(f"log-likelihood request failed: {exc}") from exc
        choices = sorted(response.choices, key=lambda c: c.index)
        if len(choices) != len(prompts):
            raise LogprobsUnavailable("the server answered fewer choices than prompts")
        results = []
        for prompt, text, choice in zip(prompts, continuations, choices, strict=True):
            logprobs = getattr(choice, "logprobs", None)
            offsets = getattr(logprobs, "text_offset", None)
            values = getattr(logprobs, "token_logprobs", None)
            if not offsets or not values:
                raise LogprobsUnavailable("the server returned no prompt log-probabilities")
            start, end = len(context), len(prompt)
            picked = [
                float(v)
                for v, at in zip(values, offsets, strict=False)
                if start <= at < end and v is not None
            ]
            if not picked:
                raise LogprobsUnavailable("the server did not echo the prompt's log-probabilities")
            results.append(ContinuationScore(sum(picked), len(picked), len(text.encode("utf-8"))))
        return results


def scorer_for(llm: LLM) -> LoglikelihoodScorer | None:
    """A log-likelihood scorer for ``llm``, or None when its backend has none."""
    if hasattr(llm, "score") and callable(llm.score):
        return llm  # type: ignore[return-value]  # a model that scores by itself (tests, plugins)
    if hasattr(llm, "llama"):
        return LlamaCppScorer.for_llm(llm)
    client = getattr(llm, "client", None)
    model = getattr(llm, "model", None)
    if client is not None and isinstance(model, str):
        return OpenAICompletionsScorer(client, model)
    return None


# --- parsing generated answers ---------------------------------------------------------------

_ANSWER_IS = re.compile(
    r"(?:answer|option|choice)\s*(?:is|:|would be|=)?\s*(?:option\s*)?"
    r"[\(\[]?([A-Z])[\)\]]?(?![a-z])",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^\W*\(?([A-Z])(?:[\).:,\]]|$)")
_BRACKETED = re.compile(r"[\(\[]([A-Z])[\)\]]")
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def parse_choice(text: str, options: Mapping[str, str]) -> str | None:
    """The option key a generated answer names, or None.

    Tries, in order: "the answer is (B)" and the like; a leading letter ("B." / "(B)");
    a bracketed letter; then the option texts themselves (the first one mentioned; for
    one-word options such as yes/no/maybe, the first of those words).
    """
    keys = {k.upper(): k for k in options}
    stripped = text.strip()
    if not stripped:
        return None
    for pattern in (_ANSWER_IS, _LEADING, _BRACKETED):
        for match in pattern.finditer(stripped):
            letter = match.group(1)
            if letter.isupper() and letter in keys:
                return keys[letter]
            if pattern is _ANSWER_IS and letter.upper() in keys and len(stripped) < 40:
                return keys[letter.upper()]
    words = _words(stripped)
    joined = " " + " ".join(words) + " "
    positions: dict[str, int] = {}
    for key, option in options.items():
        option_words = _words(option)
        if not option_words:
            continue
        needle = " " + " ".join(option_words) + " "
        at = joined.find(needle)
        if at >= 0:
            positions[key] = at
    if not positions:
        return None
    return min(positions, key=lambda k: (positions[k], -len(options[k])))
