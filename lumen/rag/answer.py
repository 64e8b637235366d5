"""The one Answer object that the CLI prints, the API streams and the evaluation scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AnswerMode = Literal["generated", "extractive", "abstained", "crisis", "emergency", "refused"]


@dataclass(frozen=True)
class Citation:
    """A source that supports one or more answer sentences, numbered as in the answer text."""

    n: int
    title: str
    url: str
    source: str
    collection: str
    chunk_id: str
    snippet: str
    score: float
    supports: list[int]


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence of the answer and the citation numbers that support it."""

    text: str
    citations: list[int]


@dataclass(frozen=True)
class RetrievedSource:
    """A chunk that retrieval returned, whether cited or not."""

    chunk_id: str
    title: str
    url: str
    source: str
    score: float


@dataclass
class Answer:
    """A verified answer: every sentence cited, or an abstention, always with the disclaimer."""

    answer: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    abstained: bool
    mode: AnswerMode
    disclaimer: str
    timings_ms: dict[str, float]
    retrieved: list[RetrievedSource] = field(default_factory=list)
    dropped_sentences: int = 0
    draft: str = ""
    safety: dict[str, Any] = field(default_factory=dict)
    searched_for: str | None = None

    def to_dict(self, *, include_draft: bool = False) -> dict[str, Any]:
        """A JSON-serialisable view (the draft, the model's unverified text, only on request)."""
        data = asdict(self)
        if not include_draft:
            data.pop("draft")
        return data
