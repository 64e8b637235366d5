"""The question path in order: check → retrieve → generate → verify → respond."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lumen.components.llm.base import LLM, GenerationParams
from lumen.documents import KNOWLEDGE
from lumen.rag.answer import Answer, AnswerSentence, Citation, RetrievedSource
from lumen.rag.prompt import build_prompt
from lumen.rag.retrieve import RetrievedChunk, Retriever, RetrieverMode
from lumen.rag.subjects import unmentioned
from lumen.rag.verify import CheckedSentence, Evidence, Verifier
from lumen.safety.injection import INJECTION_THRESHOLD, answer_follows_injection, injection_score
from lumen.safety.policy import apply_output_policy
from lumen.safety.responses import harmful_response, response_for
from lumen.safety.triage import Triage, TriageResult, check_input
from lumen.settings import Settings
from lumen.textutil import complete_sentences, is_yes_no_question

logger = logging.getLogger(__name__)

ABSTAIN_MESSAGE = (
    "I could not find this in Lumen's sources, so I cannot answer it reliably. "
    "Try rephrasing the question, or ask a doctor or pharmacist."
)

TokenCallback = Callable[[str], None]


def unmentioned_message(subjects: Sequence[str]) -> str:
    """The abstention that names what the sources leave out."""
    named = " or ".join(f"“{s}”" for s in subjects)
    return (
        f"Lumen's sources say nothing about {named}, so I cannot answer this reliably. "
        "Try rephrasing the question, or ask a doctor or pharmacist."
    )


# Small models sometimes carry on with the prompt's own structure: stop there.
STOP_SEQUENCES = ("<source", "</source", "\nQuestion:", "\nSources:")
#: The words a tuned model's answer to a yes-no question opens with (``llm.verdict_first``).
VERDICT_WORDS = ("yes", "no", "maybe")


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices."""

    collections: tuple[str, ...] = (KNOWLEDGE,)
    k: int | None = None
    mode: RetrieverMode | None = None
    # What the user consented to share from their profile; shapes the prompt only, never
    # retrieval, verification or logs.
    patient_context: str | None = None


def validate_question(question: str, max_chars: int) -> str:
    """The question cleaned, or an InputError saying what is wrong with it."""
    return check_input(question, max_chars)


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
        triage: Triage,
    ) -> None:
        self._settings = settings
        self._retriever = retriever
        self._verifier = verifier
        self._triage = triage
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

        triage = self._triage.classify(text)
        timings["triage"] = _ms_since(started)
        if triage.screened_out:
            return self._safety_answer(triage, timings, started)

        retrieval = self._retriever.retrieve(
            text,
            collections=options.collections,
            k=options.k or settings.retrieval.k,
            mode=options.mode or settings.retrieval.mode,
        )
        chunks, flagged = _set_aside_injections(retrieval.chunks)
        evidence = self._verifier.gather(retrieval.query_vector, chunks)
        timings["retrieve"] = _ms_since(started) - timings["triage"]
        retrieved = [
            RetrievedSource(r.chunk.id, r.chunk.title, r.chunk.url, r.chunk.source, r.score)
            for r in retrieval.chunks
        ]

        if not chunks or evidence.best_relevance < settings.verify.abstain_below:
            logger.info("abstaining: best relevance %.2f", evidence.best_relevance)
            timings.update(generate=0.0, verify=0.0, total=_ms_since(started))
            return self._abstain(timings, retrieved)
        missing = unmentioned(retrieval.subjects, (c.chunk.embed_text for c in chunks))
        if missing:  # the sources are about something else: quoting them answers another question
            logger.info("abstaining: %d of the question's subjects in no source", len(missing))
            timings.update(generate=0.0, verify=0.0, total=_ms_since(started))
            return self._abstain(timings, retrieved, message=unmentioned_message(missing))

        searched = retrieval.query or text  # misspelled words corrected
        budget = settings.llm.answer_budget_s
        draft, gen_timings = self._generate(
            searched,
            evidence,
            on_token,
            options.patient_context,
            deadline=started + budget if budget > 0 else None,
        )
        timings.update(gen_timings)

        verify_started = time.perf_counter()
        if flagged and answer_follows_injection(draft, [c.chunk.text for c in flagged]):
            logger.warning("safety event: the draft followed an injected instruction; discarded")
            draft_checked = ""
        else:
            draft_checked = draft
        checked = self._verifier.check(draft_checked, evidence)
        supported = self._verifier.in_source_words(
            [c for c in checked if c.supported],
            evidence,
            max_unseen=settings.verify.max_unseen_share,
        )
        dropped = len(checked) - len(supported)
        mode: str = "generated"
        if (
            len(supported) < settings.verify.min_supported_sentences
            or not _rests_on_best_page(supported, evidence)
            or len(self._verifier.new_terms(supported, searched)) < settings.verify.min_new_terms
        ):
            supported = self._verifier.extract(
                searched,
                retrieval.query_vector,
                evidence,
                count=settings.verify.extractive_sentences,
            )
            mode = "extractive"
        timings["verify"] = _ms_since(verify_started)
        timings["total"] = _ms_since(started)
        supported, policy_actions = _apply_policy(supported, evidence)
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
            dropped_sentences=dropped,
            draft=draft,
            safety={
                "category": str(triage.category),
                "policy_actions": policy_actions,
                "injection_flagged": len(flagged),
            },
            searched_for=searched if retrieval.corrections else None,
        )

    def _generate(
        self,
        question: str,
        evidence: Evidence,
        on_token: TokenCallback | None,
        patient_context: str | None = None,
        *,
        deadline: float | None = None,
    ) -> tuple[str, dict[str, float]]:
        """The model's draft and its timings.

        Past ``deadline`` (a ``time.perf_counter()`` value) the model stops, and the draft keeps
        only its complete sentences: the answer budget holds however slow the machine is.
        """
        settings = self._settings
        llm = self.llm
        started = time.perf_counter()
        prompt = build_prompt(
            llm,
            question,
            evidence.chunks,
            max_answer_tokens=settings.llm.max_answer_tokens,
            max_context_tokens=settings.llm.max_context_tokens,
            patient_context=patient_context,
        )
        yes_no = is_yes_no_question(question)
        params = GenerationParams(
            max_tokens=settings.llm.max_answer_tokens,
            temperature=settings.llm.temperature,
            timeout_s=settings.llm.timeout_s,
            stop=STOP_SEQUENCES,
            opening_bias=settings.llm.verdict_offsets if yes_no else {},
            opening_words=VERDICT_WORDS if yes_no and settings.llm.verdict_first else (),
        )
        pieces: list[str] = []
        first_token: float | None = None
        cut = False
        stream = llm.stream_chat(prompt.messages, params)
        try:
            for piece in stream:
                if first_token is None:
                    first_token = _ms_since(started)
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)
                if deadline is not None and time.perf_counter() >= deadline:
                    cut = True
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # the model stops computing tokens nobody will read
        generate_ms = _ms_since(started)
        draft = "".join(pieces)
        if cut:
            logger.info("answer budget reached after %s tokens: the draft is cut", len(pieces))
            draft = complete_sentences(draft)
        return draft, {
            "generate": generate_ms,
            "first_token": first_token if first_token is not None else generate_ms,
            "prompt_tokens": float(prompt.prompt_tokens),
            "completion_tokens": float(len(pieces)),
            "budget_cut": float(cut),
        }

    def _safety_answer(
        self, triage: TriageResult, timings: dict[str, float], started: float
    ) -> Answer:
        """The fixed response to a crisis, an emergency or a harmful request; never generated."""
        response = response_for(triage)
        if response is None:  # screened out but no fixed text: refuse rather than answer
            response = harmful_response(triage.subtype)
        # A safety event: the category only, never the message text.
        logger.warning("safety event: %s (%s)", triage.category, triage.subtype or "-")
        timings.update(retrieve=0.0, generate=0.0, verify=0.0, total=_ms_since(started))
        mode = {"crisis": "crisis", "emergency": "emergency"}.get(str(triage.category), "refused")
        return Answer(
            answer=response.text,
            sentences=[],
            citations=[],
            abstained=mode == "refused",
            mode=mode,  # type: ignore[arg-type]
            disclaimer=self._settings.disclaimer,
            timings_ms=timings,
            safety={
                "category": str(triage.category),
                "subtype": triage.subtype,
                "score": round(triage.score, 4),
                "resources": response.resources,
            },
        )

    def _abstain(
        self,
        timings: dict[str, float],
        retrieved: list[RetrievedSource],
        *,
        draft: str = "",
        message: str = ABSTAIN_MESSAGE,
    ) -> Answer:
        return Answer(
            answer=message,
            sentences=[],
            citations=[],
            abstained=True,
            mode="abstained",
            disclaimer=self._settings.disclaimer,
            timings_ms=timings,
            retrieved=retrieved,
            draft=draft,
        )


def _set_aside_injections(
    chunks: Sequence[RetrievedChunk],
) -> tuple[list[RetrievedChunk], list[RetrievedChunk]]:
    """Split off chunks that carry instructions aimed at the model.

    Flagged chunks stay out of the prompt, unless every chunk is flagged: then they are used
    and the output check still applies.
    """
    clean: list[RetrievedChunk] = []
    flagged: list[RetrievedChunk] = []
    for item in chunks:
        (flagged if injection_score(item.chunk.text) >= INJECTION_THRESHOLD else clean).append(item)
    if flagged:
        logger.warning("safety event: %s retrieved chunk(s) carry instructions", len(flagged))
    return (clean or flagged), flagged


def _apply_policy(
    sentences: Sequence[CheckedSentence], evidence: Evidence
) -> tuple[list[CheckedSentence], list[str]]:
    """Run the output policy on each sentence against the chunks that support it."""
    kept: list[CheckedSentence] = []
    actions: list[str] = []
    for sentence in sentences:
        sources = [evidence.chunks[s.chunk_index].chunk for s in sentence.supports]
        result = apply_output_policy(
            sentence.text,
            source_urls=[c.url for c in sources],
            source_texts=[c.text for c in sources],
        )
        actions.extend(result.actions)
        if result.text.strip():
            kept.append(dataclasses.replace(sentence, text=result.text.strip()))
    return kept, sorted(set(actions))


def _rests_on_best_page(sentences: Sequence[CheckedSentence], evidence: Evidence) -> bool:
    """Whether the first sentence is supported by the page retrieval ranked first.

    A generated answer that opens from another page has usually wandered (another condition, a
    similar name: "Pfeiffer syndrome" for "Pfeiffer-Mayer syndrome"); the best page is quoted
    instead. On the consumer tuning split, generated answers whose first citation was not the
    best page were right a third as often as the quotes that replaced them.
    """
    if not sentences or not evidence.chunks:
        return False
    best = evidence.chunks[0].chunk.page
    return any(evidence.chunks[s.chunk_index].chunk.page == best for s in sentences[0].supports)


def _cite(
    supported: Sequence[CheckedSentence], evidence: Evidence
) -> tuple[list[AnswerSentence], list[Citation]]:
    """Number the cited pages in order of first use and attach them to the sentences.

    Where one sentence is supported by several pages, the one retrieval ranked higher comes
    first. Chunks of one page (one URL, or one document where a chunk has no URL) are one
    source: one number, the snippet of its best support, and every sentence any of its chunks
    supports.
    """
    numbers: dict[str, int] = {}
    best: dict[str, tuple[float, int, str]] = {}  # page -> (score, chunk index, snippet)
    supports: dict[str, list[int]] = {}
    sentences: list[AnswerSentence] = []
    for position, sentence in enumerate(supported):
        marks: list[int] = []
        # pages numbered in retrieval order where one sentence has several
        for support in sorted(sentence.supports, key=lambda s: s.chunk_index):
            page = evidence.chunks[support.chunk_index].chunk.page
            n = numbers.setdefault(page, len(numbers) + 1)
            if n not in marks:
                marks.append(n)
            used = supports.setdefault(page, [])
            if position not in used:
                used.append(position)
            current = best.get(page)
            if current is None or support.score > current[0]:
                best[page] = (support.score, support.chunk_index, support.snippet)
        sentences.append(AnswerSentence(sentence.text, sorted(marks)))
    citations = []
    for page, n in sorted(numbers.items(), key=lambda item: item[1]):
        score, chunk_index, snippet = best[page]
        chunk = evidence.chunks[chunk_index].chunk
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
                supports=supports[page],
            )
        )
    return sentences, citations


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
