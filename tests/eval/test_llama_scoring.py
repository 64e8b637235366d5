"""Log-likelihoods from the real SmolLM2 equal a reference computed with ``logits_all``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lumen.components.llm.base import GenerationParams, Message
from lumen_lab.eval.scoring import LlamaCppScorer, scorer_for

pytestmark = pytest.mark.slow

CONTEXT = "Question: Is aspirin an anti-inflammatory drug?\nAnswer:"
OPTIONS = [" yes", " no", " it lowers fever and pain"]


def _reference(model_path: str, context: str, options: list[str]) -> list[float]:
    from llama_cpp import Llama

    reference = Llama(model_path=model_path, n_ctx=256, logits_all=True, verbose=False)
    context_tokens = reference.tokenize(context.encode(), add_bos=True, special=False)
    totals = []
    for option in options:
        whole = reference.tokenize((context + option).encode(), add_bos=True, special=False)
        reference.reset()
        reference.eval(whole)
        total = 0.0
        for i, token in enumerate(whole[len(context_tokens) :]):
            logits = reference.scores[len(context_tokens) - 1 + i].astype(np.float64)
            total += float(
                logits[token] - logits.max() - np.log(np.exp(logits - logits.max()).sum())
            )
        totals.append(total)
    return totals


def test_llama_scorer_matches_logits_all_and_generation_still_works(llm: Any) -> None:
    from lumen.components.model_files import smollm2_gguf

    scorer = scorer_for(llm)
    assert isinstance(scorer, LlamaCppScorer)
    scores = scorer.score(CONTEXT, OPTIONS)
    expected = _reference(str(smollm2_gguf()), CONTEXT, OPTIONS)
    assert [s.logprob for s in scores] == pytest.approx(expected, abs=1e-3)
    assert [s.n_bytes for s in scores] == [len(o) for o in OPTIONS]
    assert scores[0].n_tokens == 1
    # The shared model still generates, and scores the same again afterwards.
    text = "".join(llm.stream_chat([Message("user", "Say hello.")], GenerationParams(max_tokens=8)))
    assert text.strip()
    again = scorer.score(CONTEXT, OPTIONS[:2])
    assert [s.logprob for s in again] == pytest.approx(expected[:2], abs=1e-3)
