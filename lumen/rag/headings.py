"""Reorder retrieved chunks by how well their headings match the question.

A chunk's section heading says what its passage answers: "What are the symptoms of Moebius
syndrome ?", or "Moebius syndrome: symptoms" where a source has no questions. Fused dense and
BM25 scores weigh the whole chunk, so for a long, chatty message ("my grandma has moebius
syndrome, what symptoms should i watch out for with it") the passage on inheritance of the
right condition can come before the one on its symptoms. Matching the question against
headings is how consumer questions were answered from MedQuAD's question-answer pairs in the
first place (question entailment).

A candidate scores the MiniLM cosine of the question to its section heading (the document
title where it has none) plus its own dense cosine (the lowest among the candidates for a chunk
only BM25 found), plus ``rank_weight / (1 + fused rank)``, plus, with a question-type model
(:mod:`lumen.rag.qtypes`), ``type_weight`` times the probability that the heading asks what the
question asks: "what is the outlook for people with ALS" and "what is the prognosis for ALS ?"
share few words, "what research is being done for ALS ?" more. The chunk's own cosine keeps
headings that say little ("Background", "Results" in an abstract) from reordering documents by
noise. With ``title_weight``, a candidate gains that weight times the share of its document
title's words the question uses: a page titled by more than the question names is likely about
something else ("my 4 year old has had a fever of 102": "Fever" rather than "Typhoid Fever").
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.documents import Chunk, RetrievedChunk
from lumen.rag.qtypes import QuestionTypes
from lumen.rag.subjects import mentioned_share, unmentioned

#: Heading vectors kept in memory (headings are index text, never the question).
_CACHE_SIZE = 8192


_WORD = re.compile(r"[a-z0-9]+")
_TITLE_WORD = 4  # shorter title words ("of", "the", "and") say nothing of the topic
_TITLE_STEM = 6  # word forms match on their first letters: "migraines" ~ "migraine"


def title_stems(text: str) -> set[str]:
    """The stems of ``text``'s words of four letters or more."""
    return {w[:_TITLE_STEM] for w in _WORD.findall(text.lower()) if len(w) >= _TITLE_WORD}


def title_share(title: str, asked: set[str]) -> float:
    """The share of ``title``'s words that the question uses (``asked``: its stems); 0 for none.

    A page titled by more than the question names is likely about something else: for "a
    fever of 102 for 3 days" the title "Fever" is named whole, "Typhoid Fever" half.
    """
    words = title_stems(title)
    return len(words & asked) / len(words) if words else 0.0


def heading(chunk: Chunk) -> str:
    """What a chunk's heading says it answers: its section title, else its document's."""
    return chunk.section or chunk.title or chunk.text[:200]


class HeadingMatcher:
    """Scores chunks by question-to-heading cosine and keeps the best ``k``."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        rank_weight: float = 0.1,
        question_types: QuestionTypes | None = None,
        type_weight: float = 0.0,
        title_weight: float = 0.0,
        subjects_first: bool = False,
    ) -> None:
        self._embedder = embedder
        self._rank_weight = rank_weight
        self._subjects_first = subjects_first
        self._question_types = question_types if type_weight > 0 else None
        self._type_weight = type_weight
        self._title_weight = title_weight
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def heading_vectors(self, headings: Sequence[str]) -> np.ndarray:
        """One unit vector per heading; headings seen before come from memory."""
        with self._lock:
            known = {text: self._vectors[text] for text in headings if text in self._vectors}
        missing = sorted(set(headings) - set(known))
        if missing:
            fresh = dict(zip(missing, self._embedder.embed(missing), strict=True))
            known.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > _CACHE_SIZE:
                    self._vectors.popitem(last=False)  # the least recently used
        with self._lock:
            for text in headings:
                if text in self._vectors:
                    self._vectors.move_to_end(text)
        return np.stack([known[text] for text in headings])

    def reorder(
        self,
        query_vector: np.ndarray,
        chunks: Sequence[RetrievedChunk],
        *,
        k: int,
        subjects: Sequence[str] = (),
        question: str = "",
    ) -> list[RetrievedChunk]:
        """The ``k`` chunks with the best heading match, best first (``chunks`` best first).

        ``score`` becomes the heading score (module docstring).
        """
        if not chunks:
            return []
        headings = [heading(c.chunk) for c in chunks]
        vectors = self.heading_vectors(headings)
        cosines = vectors @ query_vector
        same_type = np.zeros(len(chunks))
        if self._question_types is not None:
            same_type = self._type_weight * self._question_types.agreement(query_vector, vectors)
        title_bonus = np.zeros(len(chunks))
        if self._title_weight > 0 and question:
            asked = title_stems(question)
            title_bonus = self._title_weight * np.array(
                [title_share(c.chunk.title, asked) for c in chunks]
            )
        known = [c.dense_score for c in chunks if c.dense_score is not None]
        floor = min(known, default=0.0)
        scores = [
            float(cosines[i])
            + (floor if c.dense_score is None else c.dense_score)
            + self._rank_weight / (1 + i)
            + float(same_type[i])
            + float(title_bonus[i])
            for i, c in enumerate(chunks)
        ]
        order = sorted(range(len(chunks)), key=lambda i: scores[i], reverse=True)[:k]
        missing = (
            unmentioned(subjects, (chunks[i].chunk.embed_text for i in order))
            if self._subjects_first
            else []
        )
        if missing:
            # The best k say nothing of something the question names (a page without a section
            # of the type asked lost to other conditions' sections of that type), and the
            # pipeline would abstain: candidates whose page or section title names more of the
            # missing subjects come first. Titles, not text: a page that names a drug in
            # passing is no answer to a question about the drug.
            named = [
                mentioned_share(missing, f"{c.chunk.title}\n{c.chunk.section}") for c in chunks
            ]
            ranked = sorted(range(len(chunks)), key=lambda i: (named[i], scores[i]), reverse=True)
            order = ranked[:k]
        return [dataclasses.replace(chunks[i], score=round(scores[i], 6)) for i in order]
