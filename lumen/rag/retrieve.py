"""Hybrid retrieval: dense (MiniLM) and BM25 (Qdrant sparse vectors) fused by reciprocal rank."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.components.vector_store.base import ScoredChunk, SearchFilter, VectorStore
from lumen.documents import Chunk, RetrievedChunk
from lumen.rag.expand import expand_hits, open_best_section
from lumen.rag.spelling import Correction

if TYPE_CHECKING:
    from lumen.rag.headings import HeadingMatcher

logger = logging.getLogger(__name__)

RetrieverMode = Literal["hybrid", "dense", "bm25"]

__all__ = ["RetrievalResult", "RetrievedChunk", "Retriever", "RetrieverMode"]


@dataclass(frozen=True)
class RetrievalResult:
    """The chunks for one question, best first, and the query vector (reused by the verifier).

    ``query`` is the question as searched: misspelled words corrected (``corrections`` lists
    them, original then replacement).
    """

    chunks: list[RetrievedChunk]
    query_vector: np.ndarray
    mode: RetrieverMode
    collections: tuple[str, ...] = field(default_factory=tuple)
    query: str = ""
    corrections: tuple[tuple[str, str], ...] = ()
    subjects: tuple[str, ...] = ()


class QuestionSpeller(Protocol):
    """What corrects a question's spelling against the searched collections' words."""

    def correct(self, question: str, collections: Sequence[str]) -> Correction:
        """``question`` as it should be searched."""
        ...


class PassageScorer(Protocol):
    """What reranks: one relevance score per (question, passage), higher is better."""

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """Scores of ``passages`` for ``question``."""
        ...


def rerank_chunks(
    question: str, chunks: Sequence[RetrievedChunk], scorer: PassageScorer, *, k: int
) -> list[RetrievedChunk]:
    """The ``k`` chunks ``scorer`` rates highest, best first; ``score`` becomes its score.

    The scorer reads each chunk as the embedder does: titles, then body (``embed_text``).
    """
    scores = scorer.score(question, [c.chunk.embed_text for c in chunks])
    order = sorted(range(len(chunks)), key=lambda i: float(scores[i]), reverse=True)[:k]
    return [dataclasses.replace(chunks[i], score=float(scores[i])) for i in order]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], *, k: int = 60, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Fuse rankings of ids: each id scores the sum of ``weight / (k + rank)``, rank from 1."""
    scores: dict[str, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


class Retriever:
    """Searches one or more collections and fuses the dense and BM25 rankings."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        bm25: Bm25Encoder,
        *,
        candidates: int = 30,
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        bm25_weight: float = 1.0,
        neighbours: int = 0,
        reranker: PassageScorer | None = None,
        rerank_candidates: int = 10,
        speller: QuestionSpeller | None = None,
        headings: HeadingMatcher | None = None,
        heading_candidates: int = 10,
        open_section: int = 0,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._bm25 = bm25
        self._candidates = candidates
        self._rrf_k = rrf_k
        self._weights = (dense_weight, bm25_weight)
        self._neighbours = neighbours
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates
        self._speller = speller
        self._headings = headings
        self._heading_candidates = heading_candidates
        self._open_section = open_section

    @property
    def reranker(self) -> PassageScorer | None:
        """The cross-encoder that reorders the fused candidates, if any."""
        return self._reranker

    def retrieve(
        self,
        question: str,
        *,
        collections: Sequence[str],
        k: int,
        mode: RetrieverMode = "hybrid",
        where: SearchFilter | None = None,
        neighbours: int | None = None,
        rerank: bool | None = None,
    ) -> RetrievalResult:
        """The top ``k`` chunks for ``question`` across ``collections``.

        With a reranker (and ``rerank`` not False), the best ``rerank_candidates`` fused chunks
        are reordered by the cross-encoder before the top ``k`` are kept.

        With ``neighbours`` (default: the retriever's), each hit comes with that many chunks on
        either side and a document's chunks become one source (:mod:`lumen.rag.expand`), so the
        result can hold fewer than ``k`` sources. Without neighbours, the best hit is read from
        its section's start (``open_section`` chunks back at most, :func:`open_best_section`);
        a caller that passes ``neighbours`` gets the hits as asked, unopened.

        With a speller, misspelled words are corrected first (:mod:`lumen.rag.spelling`) and
        the question's subjects are found (:mod:`lumen.rag.subjects`).

        Without a reranker but with a heading matcher, the best ``heading_candidates`` fused
        chunks are reordered by how well their headings match the question
        (:mod:`lumen.rag.headings`) before the top ``k`` are kept.
        """
        corrections: tuple[tuple[str, str], ...] = ()
        subjects: tuple[str, ...] = ()
        if self._speller is not None:
            correction = self._speller.correct(question, collections)
            question, corrections = correction.text, correction.changes
            subjects = correction.subjects
        query_vector = self._embedder.embed([question])[0]
        dense: list[ScoredChunk] = []
        sparse: list[ScoredChunk] = []
        limit = max(self._candidates, k)
        query = self._bm25.encode_query(question) if mode in ("hybrid", "bm25") else None
        for collection in collections:
            if mode in ("hybrid", "dense"):
                dense.extend(self._store.search_dense(collection, query_vector, limit, where))
            if query is not None and query.indices:
                sparse.extend(self._store.search_sparse(collection, query, limit, where))
        dense.sort(key=lambda hit: hit.score, reverse=True)
        sparse.sort(key=lambda hit: hit.score, reverse=True)
        dense = dense[:limit]
        sparse = sparse[:limit]

        by_id: dict[str, Chunk] = {hit.chunk.id: hit.chunk for hit in [*dense, *sparse]}
        dense_rank = {hit.chunk.id: rank for rank, hit in enumerate(dense, start=1)}
        dense_score = {hit.chunk.id: hit.score for hit in dense}
        bm25_rank = {hit.chunk.id: rank for rank, hit in enumerate(sparse, start=1)}
        if mode == "hybrid":
            fused = reciprocal_rank_fusion(
                [[h.chunk.id for h in dense], [h.chunk.id for h in sparse]],
                k=self._rrf_k,
                weights=self._weights,
            )
        else:
            hits = dense if mode == "dense" else sparse
            fused = {hit.chunk.id: hit.score for hit in hits}
        reranker = self._reranker if rerank is not False else None
        headings = self._headings if reranker is None else None
        if reranker is not None:
            depth = max(k, self._rerank_candidates)
        elif headings is not None:
            depth = max(k, self._heading_candidates)
        else:
            depth = k
        best = sorted(fused, key=lambda cid: fused[cid], reverse=True)[:depth]
        chunks = [
            RetrievedChunk(
                chunk=by_id[cid],
                score=fused[cid],
                dense_score=dense_score.get(cid),
                dense_rank=dense_rank.get(cid),
                bm25_rank=bm25_rank.get(cid),
            )
            for cid in best
        ]
        if reranker is not None and chunks:
            chunks = rerank_chunks(question, chunks, reranker, k=k)
        elif headings is not None:
            chunks = headings.reorder(
                query_vector, chunks, k=k, subjects=subjects, question=question
            )
        around = self._neighbours if neighbours is None else neighbours
        opening = self._open_section if neighbours is None else 0  # explicit: hits as asked
        if around > 0:
            chunks = expand_hits(chunks, self._store.document_chunks, around)
        elif opening > 0:
            chunks = open_best_section(chunks, self._store.document_chunks, opening)
        logger.debug("retrieved %s chunks (%s) from %s", len(chunks), mode, collections)
        return RetrievalResult(
            chunks=chunks,
            query_vector=query_vector,
            mode=mode,
            collections=tuple(collections),
            query=question,
            corrections=corrections,
            subjects=subjects,
        )
