"""The llama.cpp backend on the real SmolLM2: the opening bias of a calibrated model."""

from __future__ import annotations

from lumen.components.llm.base import GenerationParams, Message
from lumen.components.llm.llama_cpp import LlamaCppLLM

QUESTION = [
    Message("user", "Does aspirin reduce the risk of heart attack? Answer yes, no or maybe.")
]


def _answer(llm: LlamaCppLLM, bias: dict[str, float]) -> str:
    params = GenerationParams(max_tokens=16, temperature=0.0, opening_bias=bias)
    return "".join(llm.stream_chat(QUESTION, params))


def test_opening_bias_moves_the_first_token_only(llm: LlamaCppLLM) -> None:
    plain = _answer(llm, {})
    assert not plain.lower().startswith("maybe")
    hedged = _answer(llm, {"maybe": 30.0})
    assert hedged.startswith("Maybe")
    assert hedged.lower().count("maybe") == 1  # later tokens are not pushed
    assert _answer(llm, {}) == plain  # the bias does not outlive its generation


def test_an_opening_bias_against_a_word_keeps_it_out_of_the_opening(llm: LlamaCppLLM) -> None:
    opening = _answer(llm, {}).split()[0].strip(".,:").lower()
    pushed_away = _answer(llm, {opening: -30.0})
    assert pushed_away.split()[0].strip(".,:").lower() != opening
