"""Lumen's own check of an answer against its sources: the model's ``[n]`` is never trusted.

With an entailment model (``verify.model: entailment``, :mod:`lumen.rag.entailment`), each
answer sentence is read together with the few chunks closest to it by MiniLM cosine (their
sentences sharing most of its terms), and its score is the model's P(the chunk entails the
sentence); it is supported, and cited to those chunks only, when that reaches the model's
threshold.

Without one (the ``lexical`` scorer, kept for comparison), each answer sentence is scored
against every sentence of every retrieved chunk by meaning (MiniLM cosine) and by wording
(share of the sentence's content terms found in the chunk); a number in the sentence must
appear in the chunk, and a negated sentence ("No, glaucoma is not treated with eye drops") must
match a negated source sentence. A sentence about the sources themselves ("... is not mentioned
in the source") is no claim about the question and is never supported, however close its words
are. Supported sentences get citations from this check; the rest are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.errors import ComponentError
from lumen.rag.retrieve import RetrievedChunk
from lumen.rag.select import ends_like_statement, quotable, strip_fused_heading
from lumen.textutil import list_lead_ins, sentence_spans, split_sentences

if TYPE_CHECKING:
    from lumen.rag.entailment import EntailmentModel

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CITATION_MARK = re.compile(r"\s*\[(?:\d+(?:\s*[,-]\s*\d+)*)\]")
_MIN_CLAIM_TERMS = 2
_MIN_CLAIM_WORDS = 4
_DUPLICATE_COSINE = 0.93
_PREFIX = 5  # terms match on their first letters: "treated" ~ "treatment", "diabetes" ~ "diabetic"
_QUESTION_TERM_BONUS = 0.25
_EXTRACT_DUPLICATE_COSINE = 0.85  # quotes closer than this say the same thing twice ...
_EXTRACT_NEW_TERMS = 0.5  # ... unless at least this share of one's content terms is new
_CHUNK_WEIGHT = 0.5  # extractive sentences: weight of their chunk's match to the question
_OTHER_PAGE_MARGIN = 0.1  # quotes from other pages: their chunk's match within this of the anchor's
# Extractive sentences: bonus / (1 + the chunk's retrieval rank). The retriever ranks whole
# chunks by dense and BM25 matches together, then by how well their headings match the
# question; a long, chatty question's cosine to one sentence is a noisier signal of the right
# page and section than that rank.
_RANK_BONUS = 0.8
# Openers that point back to the sentence before ("It causes no pain ...", "These symptoms ...").
_REFERS_BACK = frozenset("it its they them their this these those such he she his her both".split())
# "not mentioned in the source", "the context does not provide", "no information ... in the text"
_SOURCE_WORD = re.compile(
    r"\b(?:sources?|context|passages?|text|articles?|documents?|information|excerpts?)\b",
    re.IGNORECASE,
)
_ABSENCE = re.compile(
    r"\b(?:not|never|no|neither|nor|\w+n't)\b(?:\W+\w+){0,4}?\W+"
    r"(?:mention\w*|provid\w*|stat\w*|specif\w*|discuss\w*|contain\w*|say\w*|said|"
    r"includ\w*|address\w*|cover\w*|describ\w*|available|information|details?)\b",
    re.IGNORECASE,
)
# "This type of source can be found in any document", "The text describes ...", "Source 2 says":
# the sentence is about the sources as texts, not about the question's subject.
_SOURCE_AS_SUBJECT = re.compile(
    r"^(?:this|these|the|each|both|all|such|every)\s+(?:\w+\s+){0,2}?"
    r"(?:sources?|context|passages?|texts?|documents?|excerpts?|articles?)\s+"
    r"(?:can|could|may|might|will|would|is|are|was|were|does|do|has|have|provides?|describes?|"
    r"mentions?|says?|states?|discuss(?:es)?|contains?|includes?|explains?|focus(?:es)?|"
    r"talks?|seems?|appears?|gives?|offers?|lists?|covers?|refers?|suggests?)\b"
    r"|\b(?:sources?|documents?|passages?|excerpts?|context)\s*\[?\d+\]?\s+"
    r"(?:says?|states?|mentions?|describes?|shows?|suggests?|notes?|explains?|reports?)\b",
    re.IGNORECASE,
)

_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nothing|cannot|without|\w+n't)\b", re.IGNORECASE
)


def is_negated(sentence: str) -> bool:
    """True for a sentence holding a negation word ("not", "no", "never", "doesn't" ...)."""
    return bool(_NEGATION.search(sentence.replace("’", "'")))


_UP = re.compile(
    r"\b(?:increas(?:e|es|ed|ing)|ris(?:e|es|ing)|rose|risen|elevat(?:e|es|ed|ion)|higher|raised)\b",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(?:decreas(?:e|es|ed|ing)|reduc(?:e|es|ed|ing|tion)|lower(?:ed|ing)?|declin(?:e|es|ed|ing)"
    r"|f[ae]ll|falls|falling|drop(?:s|ped)?)\b",
    re.IGNORECASE,
)


def direction(sentence: str) -> str:
    """``up``, ``down``, ``both`` or ``none``: the change the sentence reports."""
    up, down = bool(_UP.search(sentence)), bool(_DOWN.search(sentence))
    return "both" if up and down else "up" if up else "down" if down else "none"


def opposite_direction(claim: str, source: str) -> bool:
    """True when the claim reports only a rise and the source only a fall, or the reverse."""
    return {direction(claim), direction(source)} == {"up", "down"}


def speaks_of_sources(sentence: str) -> bool:
    """True for a sentence about the sources rather than the question's subject.

    "The dose is not mentioned in the source" (what they lack), "This type of source can be
    found in any document" or "Source 2 says ..." (the texts themselves): no claim a user can
    use, however close its words are to a passage.
    """
    text = sentence.strip()
    return bool(
        (_SOURCE_WORD.search(text) and _ABSENCE.search(text)) or _SOURCE_AS_SUBJECT.search(text)
    )


@dataclass(frozen=True)
class Evidence:
    """The retrieved chunks cut into sentences and embedded once, shared by every check."""

    chunks: list[RetrievedChunk]
    sentences: list[str]
    owners: list[int]  # index into chunks for each sentence
    vectors: np.ndarray
    chunk_terms: list[frozenset[str]]
    chunk_numbers: list[frozenset[str]]
    relevance: list[float]  # best cosine of the question to any sentence of each chunk
    lead_ins: list[int | None]  # for each sentence, its list's lead-in sentence (list items)

    @property
    def best_relevance(self) -> float:
        """How well the best chunk matches the question."""
        return max(self.relevance, default=0.0)


@dataclass(frozen=True)
class Support:
    """One chunk's support for one sentence."""

    chunk_index: int
    score: float
    snippet: str


@dataclass(frozen=True)
class CheckedSentence:
    """An answer sentence with its verdict and the chunks that support it, best first."""

    text: str
    score: float
    supported: bool
    supports: tuple[Support, ...]
    reason: str = ""


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", ".") for n in _NUMBER.findall(text))


def content_terms(bm25: Bm25Encoder, text: str) -> frozenset[str]:
    """Content terms of ``text``, cut to a common prefix so that word forms match."""
    return frozenset(term[:_PREFIX] for term in bm25.tokens(text))


def _unseen_share(terms: AbstractSet[str], chunk_terms: AbstractSet[str]) -> float:
    """The share of a claim's content terms that its chunk never uses."""
    return len(terms - chunk_terms) / len(terms) if terms else 0.0


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` opens with a word that needs the sentence before it ("It", "These")."""
    first = re.match(r"[\"'\u201c\u2018(]*([A-Za-z]+)", sentence)
    return first is not None and first.group(1).lower() in _REFERS_BACK


def strip_citation_marks(text: str) -> str:
    """Remove the model's own ``[n]`` marks: Lumen recomputes citations."""
    return _CITATION_MARK.sub("", text).strip()


class Verifier:
    """Scores answer sentences against evidence and picks extractive sentences."""

    def __init__(
        self,
        embedder: Embedder,
        bm25: Bm25Encoder,
        *,
        threshold: float = 0.55,
        semantic_weight: float = 0.5,
        max_citations_per_sentence: int = 2,
        entailment: EntailmentModel | None = None,
        entailment_chunks: int = 2,
    ) -> None:
        self._embedder = embedder
        self._bm25 = bm25
        self._entailment = entailment
        # With a model, ``threshold`` is its P(entailed) threshold (from its manifest).
        self._threshold = entailment.threshold if entailment is not None else threshold
        self._semantic_weight = semantic_weight
        self._max_citations = max_citations_per_sentence
        self._entailment_chunks = entailment_chunks

    @property
    def threshold(self) -> float:
        """Support score a sentence needs."""
        return self._threshold

    @property
    def scorer(self) -> str:
        """``entailment`` (the trained model) or ``lexical`` (cosine + term overlap)."""
        return "lexical" if self._entailment is None else "entailment"

    def gather(self, query_vector: np.ndarray, chunks: Sequence[RetrievedChunk]) -> Evidence:
        """Split and embed the chunks' sentences; measure each chunk's relevance to the question."""
        sentences: list[str] = []
        owners: list[int] = []
        lead_ins: list[int | None] = []
        for index, item in enumerate(chunks):
            text, offset = item.chunk.text, len(sentences)
            spans = sentence_spans(text)  # cut once, for the sentences and their lists
            sentences.extend(text[start:end] for start, end in spans)
            owners.extend([index] * len(spans))
            lead_ins.extend(
                None if lead is None else offset + lead for lead in list_lead_ins(text, spans)
            )
        vectors = (
            self._embedder.embed(sentences)
            if sentences
            else np.zeros((0, len(query_vector)), dtype=np.float32)
        )
        relevance = [0.0] * len(chunks)
        if len(sentences):
            cosines = vectors @ query_vector
            for owner, cosine in zip(owners, cosines, strict=True):
                relevance[owner] = max(relevance[owner], float(cosine))
        for index, item in enumerate(chunks):
            if item.dense_score is not None:
                relevance[index] = max(relevance[index], float(item.dense_score))
        return Evidence(
            chunks=list(chunks),
            sentences=sentences,
            owners=owners,
            vectors=vectors,
            chunk_terms=[
                self._terms(f"{c.chunk.title} {c.chunk.section} {c.chunk.text}") for c in chunks
            ],
            chunk_numbers=[_numbers(c.chunk.text) for c in chunks],
            relevance=relevance,
            lead_ins=lead_ins,
        )

    def _terms(self, text: str) -> frozenset[str]:
        """Content terms of ``text``, cut to a common prefix so that word forms match."""
        return content_terms(self._bm25, text)

    def in_source_words(
        self, sentences: Sequence[CheckedSentence], evidence: Evidence, *, max_unseen: float
    ) -> list[CheckedSentence]:
        """The sentences whose supporting chunks use all but ``max_unseen`` of their content terms.

        A stricter check than :meth:`check` for what a small model writes from consumer health
        pages: the entailment model, trained on PubMedQA conclusions (abstractive: 41% of true
        ones leave half their terms unused by the abstract), passes fluent inventions there
        ("Glia tumors - these include ... glioblastomas"). Not part of :meth:`check`, which
        stays the scorer the grounding report measures.
        """
        kept = []
        for sentence in sentences:
            terms = self._terms(sentence.text)
            used: set[str] = set()
            for support in sentence.supports:
                used |= evidence.chunk_terms[support.chunk_index]
            if _unseen_share(terms, used) <= max_unseen:
                kept.append(sentence)
        return kept

    def new_terms(self, sentences: Sequence[CheckedSentence], question: str) -> frozenset[str]:
        """The content terms of ``sentences`` that the question does not use."""
        said: set[str] = set()
        for sentence in sentences:
            said |= self._terms(sentence.text)
        return frozenset(said - self._terms(question))

    def check(self, answer: str, evidence: Evidence) -> list[CheckedSentence]:
        """Score every sentence of ``answer``; repeated sentences are marked unsupported."""
        texts = [strip_citation_marks(s) for s in split_sentences(answer)]
        texts = [t for t in texts if t]
        if not texts:
            return []
        vectors = self._embedder.embed(texts)
        entailed = self._entail(texts, vectors, evidence) if self._entailment is not None else None
        checked: list[CheckedSentence] = []
        kept_vectors: list[np.ndarray] = []
        for position, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            if any(float(vector @ other) >= _DUPLICATE_COSINE for other in kept_vectors):
                checked.append(CheckedSentence(text, 0.0, False, (), "repeats an earlier sentence"))
                continue
            if entailed is not None:
                result = self._judge(text, entailed[position], evidence)
            else:
                result = self._score(text, vector, evidence)
            checked.append(result)
            if result.supported:
                kept_vectors.append(vector)
        return checked

    def _unchecked(self, text: str) -> CheckedSentence | None:
        """The verdict on a sentence that is no claim to check, else None."""
        if len(self._terms(text)) < _MIN_CLAIM_TERMS:
            return CheckedSentence(text, 0.0, False, (), "too short to check")
        if speaks_of_sources(text):
            return CheckedSentence(text, 0.0, False, (), "speaks of the sources, not the question")
        if text.rstrip().endswith(":"):  # "The signs of X are:" with no list after it
            return CheckedSentence(text, 0.0, False, (), "a lead-in, not a statement")
        if len(text.split()) < _MIN_CLAIM_WORDS or not ends_like_statement(text):
            # a list item ("Abnormality of the femur (the long leg bone)"), a label, a question
            return CheckedSentence(text, 0.0, False, (), "not a complete statement")
        return None

    def _entail(
        self, texts: list[str], vectors: np.ndarray, evidence: Evidence
    ) -> list[list[Support]]:
        """Each sentence's supports: P(entailed) by each of its closest chunks, best first.

        All (sentence, chunk) pairs go to the model in one call; a sentence that is no claim to
        check gets none.
        """
        from lumen.rag.entailment import select_evidence

        if self._entailment is None:
            raise ComponentError("the entailment scorer is not loaded")
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, int, str]] = []  # sentence, chunk, snippet
        sentence_terms: list[frozenset[str]] | None = None
        for position, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            if self._unchecked(text) is not None or not evidence.sentences:
                continue
            if sentence_terms is None:
                sentence_terms = [self._terms(s) for s in evidence.sentences]
            cosines = evidence.vectors @ vector
            best: dict[int, int] = {}  # chunk → its sentence closest to this one
            for i, owner in enumerate(evidence.owners):
                if owner not in best or cosines[i] > cosines[best[owner]]:
                    best[owner] = i
            closest = sorted(best, key=lambda c: float(cosines[best[c]]), reverse=True)
            claim_terms = self._terms(text)
            for chunk in closest[: self._entailment_chunks]:
                members = [i for i, owner in enumerate(evidence.owners) if owner == chunk]
                passage = select_evidence(
                    claim_terms,
                    [evidence.sentences[i] for i in members],
                    [sentence_terms[i] for i in members],
                )
                pairs.append((text, passage))
                owners.append((position, chunk, evidence.sentences[best[chunk]]))
        probabilities = self._entailment.probabilities(pairs)
        supports: list[list[Support]] = [[] for _ in texts]
        for (position, chunk, snippet), p in zip(owners, probabilities, strict=True):
            supports[position].append(Support(chunk, float(p), snippet))
        for row in supports:
            row.sort(key=lambda s: s.score, reverse=True)
        return supports

    def _judge(self, text: str, supports: list[Support], evidence: Evidence) -> CheckedSentence:
        """Supported when a chunk entails the sentence; cited to the chunks that do.

        A chunk counts at half its score when it does not state every number of the sentence,
        or when its sentence closest to the claim reports the opposite change (a rise for a
        fall): the model reads numbers and directions poorly, and either is a hallucination.
        """
        unchecked = self._unchecked(text)
        if unchecked is not None:
            return unchecked
        numbers = _numbers(text)
        supports = sorted(
            (
                replace(s, score=s.score / 2)
                if not numbers <= evidence.chunk_numbers[s.chunk_index]
                or opposite_direction(text, s.snippet)
                else s
                for s in supports
            ),
            key=lambda s: s.score,
            reverse=True,
        )
        best_score = supports[0].score if supports else 0.0
        passing = tuple(s for s in supports if s.score >= self._threshold)[: self._max_citations]
        if passing:
            return CheckedSentence(text, best_score, True, passing)
        return CheckedSentence(text, best_score, False, (), "not entailed by the sources")

    def _score(self, text: str, vector: np.ndarray, evidence: Evidence) -> CheckedSentence:
        unchecked = self._unchecked(text)
        if unchecked is not None:
            return unchecked
        terms = self._terms(text)
        numbers = _numbers(text)
        negated = is_negated(text)
        cosines = evidence.vectors @ vector if len(evidence.sentences) else np.zeros(0)
        supports: list[Support] = []
        for index in range(len(evidence.chunks)):
            mask = [i for i, owner in enumerate(evidence.owners) if owner == index]
            if not mask:
                continue
            # A negated claim is supported by a negated source sentence only: the same words
            # without the "not" say the opposite.
            agreeing = [i for i in mask if is_negated(evidence.sentences[i])] if negated else mask
            best = max(agreeing or mask, key=lambda i: float(cosines[i]))
            semantic = float(cosines[best])
            lexical = len(terms & evidence.chunk_terms[index]) / len(terms)
            score = self._semantic_weight * semantic + (1 - self._semantic_weight) * lexical
            if numbers - evidence.chunk_numbers[index]:
                score *= 0.5  # a number the source does not state is not supported by it
            if not agreeing:
                score *= 0.5  # the source states it without the negation
            supports.append(Support(index, score, evidence.sentences[best]))
        supports.sort(key=lambda s: s.score, reverse=True)
        best_score = supports[0].score if supports else 0.0
        passing = tuple(s for s in supports if s.score >= self._threshold)[: self._max_citations]
        if passing:
            return CheckedSentence(text, best_score, True, passing)
        return CheckedSentence(text, best_score, False, (), "not supported by the sources")

    def extract(
        self, question: str, query_vector: np.ndarray, evidence: Evidence, *, count: int
    ) -> list[CheckedSentence]:
        """The source sentences that best answer the question, each supported by its own chunk.

        Only statements are quoted (:func:`lumen.rag.select.quotable`: no questions, headings or
        navigation), a heading fused onto a sentence is cut off, and sentences rank by cosine to
        the question, a bonus for the question's terms they use, how well their chunk as a
        whole (its title and section included) matches the question, and the chunk's retrieval
        rank (chunks of one section share the best). The answer is the best sentence (or the
        one before it, when it opens with a word pointing back) and the ones after it in its
        chunk, then the next best from other chunks of its page, or of other pages whose chunk
        matches the question within 0.1 of the best one's. A quoted list item is preceded by
        its list's lead-in (once per list).
        """
        if not evidence.sentences:
            return []
        question_terms = self._terms(question)
        cosines = evidence.vectors @ query_vector
        texts = [strip_fused_heading(sentence) for sentence in evidence.sentences]
        candidates = [i for i, text in enumerate(texts) if quotable(text)]
        # Chunks of one section share its best rank: retrieval's order among them is noise
        # (the same heading, much the same words), and the sentences themselves decide.
        section_rank: dict[tuple[str, str], int] = {}
        for rank, item in enumerate(evidence.chunks):
            section_rank.setdefault((item.chunk.page, item.chunk.section), rank)
        rank_of = [section_rank[(c.chunk.page, c.chunk.section)] for c in evidence.chunks]
        scores = {
            i: float(cosines[i])
            + _QUESTION_TERM_BONUS
            * len(question_terms & self._terms(texts[i]))
            / max(len(question_terms), 1)
            + _CHUNK_WEIGHT * evidence.relevance[evidence.owners[i]]
            + _RANK_BONUS / (1 + rank_of[evidence.owners[i]])
            for i in candidates
        }
        order = sorted(candidates, key=lambda i: scores[i], reverse=True)
        if not order:
            return []
        # The best sentence, then the sentences that follow it in its chunk (a passage reads
        # on), then the next best elsewhere; a best sentence opening with "It" or "These"
        # ("These steps are part of infection control.") starts from the sentence before.
        anchor = order[0]
        same_chunk = [i for i in candidates if evidence.owners[i] == evidence.owners[anchor]]
        if anchor - 1 in same_chunk and refers_back(texts[anchor]):
            anchor -= 1  # the passage opens with what its "it" or "these" names
        following = [i for i in same_chunk if i > anchor]
        # Another page is quoted only when its chunk matches the question about as well as the
        # anchor's: a symptoms question about one syndrome gets no symptom list of another.
        anchor_page = evidence.chunks[evidence.owners[anchor]].chunk.page
        floor = evidence.relevance[evidence.owners[anchor]] - _OTHER_PAGE_MARGIN
        elsewhere = [
            i
            for i in order[1:]
            if evidence.chunks[evidence.owners[i]].chunk.page == anchor_page
            or evidence.relevance[evidence.owners[i]] >= floor
        ]
        chosen: list[int] = []
        terms = {i: self._terms(texts[i]) for i in [anchor, *following, *elsewhere]}

        def repeats(i: int, j: int) -> bool:
            # Close in meaning and little new in words: the frame of two rows of one symptom
            # table ("Signs and symptoms of X seen in about 50% of people: ...") is not enough.
            if float(evidence.vectors[i] @ evidence.vectors[j]) < _EXTRACT_DUPLICATE_COSINE:
                return False
            new = len(terms[i] - terms[j]) / max(len(terms[i]), 1)
            return new < _EXTRACT_NEW_TERMS

        for i in [anchor, *following, *elsewhere]:
            if i in chosen or any(repeats(i, j) for j in chosen):
                continue
            chosen.append(i)
            if len(chosen) == count:
                break
        # Read in source order: by section rank, then by place in the document.
        chosen.sort(
            key=lambda i: (
                rank_of[evidence.owners[i]],
                evidence.chunks[evidence.owners[i]].chunk.position,
                i,
            )
        )
        # A list item reads with its lead-in ("The outlook depends on the following: The stage
        # of the cancer ..."); the first item quoted from a list carries it.
        quoted: list[CheckedSentence] = []
        introduced: set[int] = set()
        for i in chosen:
            text = texts[i]
            lead = evidence.lead_ins[i]
            if lead is not None and lead not in introduced:
                introduced.add(lead)
                text = f"{strip_fused_heading(evidence.sentences[lead])} {text}"
            quoted.append(
                CheckedSentence(
                    text,
                    scores[i],
                    True,
                    (Support(evidence.owners[i], 1.0, text),),
                    "quoted from the source",
                )
            )
        return quoted
