"""Fixtures of the evaluation tests: a scripted LLM, small datasets, settings in tmp dirs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from lumen.components.llm.base import GenerationParams, Message
from lumen.settings import Settings
from lumen_lab.eval.scoring import ContinuationScore

MIRAGE_SMALL = {
    "medqa": {
        "q1": {
            "question": "Which drug lowers blood sugar in type 2 diabetes?",
            "options": {"A": "warfarin", "B": "metformin tablets", "C": "aspirin", "D": "ice"},
            "answer": "B",
        },
        "q2": {
            "question": "Which organ does glaucoma damage?",
            "options": {"A": "the optic nerve", "B": "liver", "C": "skin", "D": "bone"},
            "answer": "A",
        },
        "q3": {
            "question": "What is hypertension?",
            "options": {"A": "low pressure", "B": "a fever", "C": "high blood pressure", "D": "x"},
            "answer": "C",
        },
        "q4": {
            "question": "Which vitamin is made in the skin?",
            "options": {"A": "vitamin D", "B": "vitamin K2 (menaquinone)", "C": "C", "D": "B"},
            "answer": "A",
        },
        "q5": {
            "question": "Which is an antibiotic?",
            "options": {"A": "amoxicillin", "B": "insulin", "C": "heparin", "D": "salt"},
            "answer": "A",
        },
    },
    "bioasq": {
        "b1": {
            "question": "Is aspirin an NSAID?",
            "options": {"A": "yes", "B": "no"},
            "answer": "A",
        },
    },
}


class ScriptedLLM:
    """An LLM whose answers and option scores are scripted; it counts its calls."""

    def __init__(
        self,
        reply: str = "The answer is B.",
        scorer: Callable[[str, Sequence[str]], list[ContinuationScore]] | None = None,
    ) -> None:
        self.reply = reply
        self._scorer = scorer or longest_option
        self.score_calls = 0
        self.chat_calls = 0
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return "scripted:test"

    @property
    def context_window(self) -> int:
        return 2048

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        with self._lock:
            self.chat_calls += 1
            self.prompts.append(messages[-1].content)
        yield from self.reply.split(" ")[:1]
        for word in self.reply.split(" ")[1:]:
            yield " " + word

    def score(self, context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
        with self._lock:
            self.score_calls += 1
            self.prompts.append(context)
        return self._scorer(context, continuations)


def longest_option(context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
    """The longest option scores best (log-prob = its length), per byte all equal."""
    return [ContinuationScore(float(len(c)), len(c.split()), len(c)) for c in continuations]


@pytest.fixture
def scripted_llm() -> ScriptedLLM:
    return ScriptedLLM()


@pytest.fixture
def mirage_file(tmp_path: Path) -> Path:
    path = tmp_path / "mirage_small.json"
    path.write_text(json.dumps(MIRAGE_SMALL), encoding="utf-8")
    return path


@pytest.fixture
def eval_settings(tmp_path: Path) -> Settings:
    return Settings(paths={"data_dir": tmp_path / "data", "sources_dir": tmp_path / "sources"})
