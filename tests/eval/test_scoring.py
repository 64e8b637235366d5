"""Parsing generated answers and the log-likelihood scorers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lumen_lab.eval.scoring import (
    ContinuationScore,
    LogprobsUnavailable,
    OpenAICompletionsScorer,
    best_option,
    parse_choice,
)

OPTIONS = {"A": "cisplatin", "B": "vincristine", "C": "methotrexate", "D": "bleomycin"}
YES_NO = {"A": "yes", "B": "no", "C": "maybe"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("(C) methotrexate", "C"),
        ("The answer is D.", "D"),
        ("Answer: A", "A"),
        ("I think the correct option is (b)", "B"),
        ("It must be vincristine, given the neuropathy.", "B"),
        ("A patient with cancer would get cisplatin", "A"),
        ("Nothing here", None),
        ("", None),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, OPTIONS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Yes, it is.", "A"), ("no", "B"), ("Maybe; the evidence is mixed", "C"), ("Unclear", None)],
)
def test_parse_yes_no(text: str, expected: str | None) -> None:
    assert parse_choice(text, YES_NO) == expected


def test_best_option_raw_and_normalised() -> None:
    scores = [ContinuationScore(-4.0, 2, 4), ContinuationScore(-6.0, 4, 12)]
    assert best_option(scores) == 0
    assert best_option(scores, normalize=True) == 1


class _Completions:
    def __init__(self, error: Exception | None = None, logprobs: bool = True) -> None:
        self.error = error
        self.logprobs = logprobs
        self.requests: list[dict[str, Any]] = []

    def create(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        if self.error is not None:
            raise self.error
        choices = []
        for index, prompt in enumerate(kwargs["prompt"]):
            # One "token" per character; each prompt character has log-prob -0.5, then one
            # generated token at the end (which must not be counted).
            offsets = list(range(len(prompt) + 1))
            values = [None] + [-0.5] * (len(prompt) - 1) + [-9.0]
            logprobs = (
                SimpleNamespace(text_offset=offsets, token_logprobs=values)
                if self.logprobs
                else None
            )
            choices.append(SimpleNamespace(index=index, logprobs=logprobs))
        return SimpleNamespace(choices=choices)


class _HttpError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def test_openai_scorer_sums_the_continuation_only() -> None:
    completions = _Completions()
    scorer = OpenAICompletionsScorer(SimpleNamespace(completions=completions), "m")
    scores = scorer.score("Q: x\nA:", [" yes", " no"])
    assert [s.logprob for s in scores] == [-2.0, -1.5]
    assert [s.n_tokens for s in scores] == [4, 3]
    request = completions.requests[0]
    assert request["echo"] is True
    assert request["logprobs"] == 1
    assert request["max_tokens"] == 1


def test_openai_scorer_without_logprobs_raises_unavailable() -> None:
    scorer = OpenAICompletionsScorer(SimpleNamespace(completions=_Completions(logprobs=False)), "m")
    with pytest.raises(LogprobsUnavailable):
        scorer.score("ctx", [" a"])
    refusing = OpenAICompletionsScorer(
        SimpleNamespace(completions=_Completions(error=_HttpError(400))), "m"
    )
    with pytest.raises(LogprobsUnavailable):
        refusing.score("ctx", [" a"])
