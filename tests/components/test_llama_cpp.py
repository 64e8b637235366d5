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


def _verdict_first(llm: LlamaCppLLM, bias: dict[str, float]) -> str:
    params = GenerationParams(
        max_tokens=16, temperature=0.0, opening_bias=bias, opening_words=("yes", "no", "maybe")
    )
    return "".join(llm.stream_chat(QUESTION, params))


def test_verdict_first_opens_with_a_verdict_word_then_generates_freely(llm: LlamaCppLLM) -> None:
    opened = _verdict_first(llm, {})
    first = opened.split()[0].strip(".,:!")
    assert first.lower() in {"yes", "no", "maybe"}
    assert len(opened.split()) > 1  # the rest of the answer is generated
    for word in ("no", "maybe"):
        steered = _verdict_first(llm, {word: 30.0})
        assert steered.split()[0].strip(".,:!").lower() == word
    # the bias on the other words decides between them, never another opening
    assert _verdict_first(llm, {"yes": -30.0, "no": -30.0}).lower().startswith("maybe")
    assert _verdict_first(llm, {}) == opened  # the processor does not outlive its generation


def test_an_opening_bias_against_a_word_keeps_it_out_of_the_opening(llm: LlamaCppLLM) -> None:
    opening = _answer(llm, {}).split()[0].strip(".,:").lower()
    pushed_away = _answer(llm, {opening: -30.0})
    assert pushed_away.split()[0].strip(".,:").lower() != opening
