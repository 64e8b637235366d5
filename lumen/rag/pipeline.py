"""The question path in order: check → retrieve → generate → verify → respond."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lumen.components.llm.base import LLM, GenerationParams
from lumen.documents import KNOWLEDGE
from lumen.errors import InputError
from lumen.rag.answer import Answer, AnswerSentence, Citation, RetrievedSource
from lumen.rag.prompt import build_prompt
from lumen.rag.retrieve import Retriever, RetrieverMode
from lumen.rag.verify import CheckedSentence, Evidence, Verifier
from lumen.settings import Settings

logger = logging.getLogger(__name__)

ABSTAIN_MESSAGE = (
    "I could not find this in Lumen's sources, so I cannot answer it reliably. "
    "Try rephrasing the question, or ask a doctor or pharmacist."
)

TokenCallback = Callable[[str], None]

# Small models sometimes carry on with the prompt's own structure: stop there.
STOP_SEQUENCES = ("<source", "</source", "\nQuestion:", "\nSources:")


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices."""

    collections: tuple[str, ...] = (KNOWLEDGE,)
    k: int | None = None
    mode: RetrieverMode | None = None


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or an InputError saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    text = question.strip()
    if len(text) > max_chars:
        raise InputError(f"the question is {len(text)} characters long; the limit is {max_chars}")
    if "\x00" in text:
        raise InputError("the question contains binary data")
    return text


def build_answer_text(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences joined, each followed by its citation marks."""
    parts = []
    for sentence in sentences:
        marks = "".join(f"[{n}]" for n in sentence.citations)
        parts.append(f"{sentence.text} {marks}".strip())
    return " ".join(parts)


class RagPipeline:
    """Answers questions from the index with sentences that Lumen itself verified."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        verifier: Verifier,
        llm: Callable[[], LLM],
    ) -> None:
        self._settings = settings
        self._retriever = retriever
        self._verifier = verifier
        self._llm_factory = llm
        self._llm: LLM | None = None

    @property
    def llm(self) -> LLM:
        """The language model, loaded on first use."""
        if self._llm is None:
            self._llm = self._llm_factory()
        return self._llm

    @property
    def retriever(self) -> Retriever:
        """The retriever (the evaluation harness uses it alone)."""
        return self._retriever

    def ask(
        self,
        question: str,
        options: AskOptions | None = None,
        *,
        on_token: TokenCallback | None = None,
    ) -> Answer:
        """Answer ``question``; ``on_token`` receives the model's unverified draft as it streams."""
        options = options or AskOptions()
        settings = self._settings
        started = time.perf_counter()
        text = validate_question(question, settings.verify.max_question_chars)
        timings: dict[str, float] = {}

        retrieval = self._retriever.retrieve(
            text,
            collections=options.collections,
            k=options.k or settings.retrieval.k,
            mode=options.mode or settings.retrieval.mode,
        )
        evidence = self._verifier.gather(retrieval.query_vector, retrieval.chunks)
        timings["retrieve"] = _ms_since(started)
        retrieved = [
            RetrievedSource(r.chunk.id, r.chunk.title, r.chunk.url, r.chunk.source, r.score)
            for r in retrieval.chunks
        ]

        if not retrieval.chunks or evidence.best_relevance < settings.verify.abstain_below:
            logger.info("abstaining: best relevance %.2f", evidence.best_relevance)
            timings.update(generate=0.0, verify=0.0, total=_ms_since(started))
            return self._abstain(timings, retrieved)

        draft, gen_timings = self._generate(text, evidence, on_token)
        timings.update(gen_timings)

        verify_started = time.perf_counter()
        checked = self._verifier.check(draft, evidence)
        supported = [c for c in checked if c.supported]
        mode: str = "generated"
        if len(supported) < settings.verify.min_supported_sentences:
            supported = self._verifier.extract(
                text, retrieval.query_vector, evidence, count=settings.verify.extractive_sentences
            )
            mode = "extractive"
        timings["verify"] = _ms_since(verify_started)
        timings["total"] = _ms_since(started)
        if not supported:
            return self._abstain(timings, retrieved, draft=draft)
        sentences, citations = _cite(supported, evidence)
        return Answer(
            answer=build_answer_text(sentences),
            sentences=sentences,
            citations=citations,
            abstained=False,
            mode="generated" if mode == "generated" else "extractive",
            disclaimer=settings.disclaimer,
            timings_ms=timings,
            retrieved=retrieved,
            dropped_sentences=len(checked) - len([c for c in checked if c.supported]),
            draft=draft,
        )

    def _generate(
        self, question: str, evidence: Evidence, on_token: TokenCallback | None
    ) -> tuple[str, dict[str, float]]:
        settings = self._settings
        llm = self.llm
        started = time.perf_counter()
        prompt = build_prompt(
            llm,
            question,
            evidence.chunks,
            max_answer_tokens=settings.llm.max_answer_tokens,
            max_context_tokens=settings.llm.max_context_tokens,
        )
        params = GenerationParams(
            max_tokens=settings.llm.max_answer_tokens,
            temperature=settings.llm.temperature,
            timeout_s=settings.llm.timeout_s,
            stop=STOP_SEQUENCES,
        )
        pieces: list[str] = []
        first_token: float | None = None
        for piece in llm.stream_chat(prompt.messages, params):
            if first_token is None:
                first_token = _ms_since(started)
            pieces.append(piece)
            if on_token is not None:
                on_token(piece)
        generate_ms = _ms_since(started)
        return "".join(pieces), {
            "generate": generate_ms,
            "first_token": first_token if first_token is not None else generate_ms,
            "prompt_tokens": float(prompt.prompt_tokens),
        }

    def _abstain(
        self, timings: dict[str, float], retrieved: list[RetrievedSource], *, draft: str = ""
    ) -> Answer:
        return Answer(
            answer=ABSTAIN_MESSAGE,
            sentences=[],
            citations=[],
            abstained=True,
            mode="abstained",
            disclaimer=self._settings.disclaimer,
            timings_ms=timings,
            retrieved=retrieved,
            draft=draft,
        )


def _cite(
    supported: Sequence[CheckedSentence], evidence: Evidence
) -> tuple[list[AnswerSentence], list[Citation]]:
    """Number the supporting chunks in order of first use and attach them to the sentences."""
    numbers: dict[int, int] = {}
    snippets: dict[int, tuple[float, str]] = {}
    supports: dict[int, list[int]] = {}
    sentences: list[AnswerSentence] = []
    for position, sentence in enumerate(supported):
        marks = []
        for support in sentence.supports:
            n = numbers.setdefault(support.chunk_index, len(numbers) + 1)
            marks.append(n)
            supports.setdefault(support.chunk_index, []).append(position)
            best = snippets.get(support.chunk_index)
            if best is None or support.score > best[0]:
                snippets[support.chunk_index] = (support.score, support.snippet)
        sentences.append(AnswerSentence(sentence.text, sorted(set(marks))))
    citations = []
    for chunk_index, n in sorted(numbers.items(), key=lambda item: item[1]):
        chunk = evidence.chunks[chunk_index].chunk
        score, snippet = snippets[chunk_index]
        citations.append(
            Citation(
                n=n,
                title=chunk.display_title,
                url=chunk.url,
                source=chunk.source,
                collection=chunk.collection,
                chunk_id=chunk.id,
                snippet=snippet,
                score=round(score, 4),
                supports=supports[chunk_index],
            )
        )
    return sentences, citations


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
