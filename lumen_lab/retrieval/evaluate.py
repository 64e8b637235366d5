"""Recall@k and MRR@k of the first relevant page, with and without the reranker.

A query is judged against one page (URL). The top ``k`` chunks of hybrid retrieval are the
ones the pipeline hands on; recall@k counts a query when any of them is from its page (the
protocol of ``bench/bench_core.py``), MRR@k scores ``1/rank`` of its page among the distinct
pages of those chunks (what a reader sees as the first, second ... citation). The reranker
reads the best ``candidates`` fused chunks and keeps ``k``; its own time is reported apart.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lumen.documents import KNOWLEDGE
from lumen.rag.rerank import Reranker
from lumen.rag.retrieve import RetrievedChunk, Retriever, rerank_chunks


@dataclass(frozen=True)
class Query:
    """A question and the URL of the page that answers it."""

    id: str
    question: str
    url: str


def page_rank(chunks: Sequence[RetrievedChunk], url: str) -> int | None:
    """1-based rank of ``url`` among the distinct pages of ``chunks``; None if absent."""
    pages: list[str] = []
    for item in chunks:
        if item.chunk.url not in pages:
            pages.append(item.chunk.url)
    return pages.index(url) + 1 if url in pages else None


def _scores(ranks: list[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "recall": round(sum(r is not None for r in ranks) / n, 4),
        "mrr": round(sum(1.0 / r for r in ranks if r is not None) / n, 4),
        "first_is_relevant": round(sum(r == 1 for r in ranks) / n, 4),
    }


def evaluate(
    retriever: Retriever,
    queries: Iterable[Query],
    *,
    k: int = 5,
    reranker: Reranker | None = None,
    candidates: int = 10,
) -> dict[str, object]:
    """Hybrid retrieval's figures, and the reranker's beside them when one is given."""
    baseline: list[int | None] = []
    reranked: list[int | None] = []
    rerank_ms: list[float] = []
    retrieve_ms: list[float] = []
    misses: list[str] = []
    for query in queries:
        started = time.perf_counter()
        found = retriever.retrieve(
            query.question,
            collections=[KNOWLEDGE],
            k=max(k, candidates),
            mode="hybrid",
            neighbours=0,
            rerank=False,
        )
        retrieve_ms.append((time.perf_counter() - started) * 1000)
        baseline.append(page_rank(found.chunks[:k], query.url))
        if reranker is not None:
            started = time.perf_counter()
            best = rerank_chunks(query.question, found.chunks[:candidates], reranker, k=k)
            rerank_ms.append((time.perf_counter() - started) * 1000)
            reranked.append(page_rank(best, query.url))
            if reranked[-1] is None:
                misses.append(query.id)
    result: dict[str, object] = {
        "queries": len(baseline),
        "k": k,
        "hybrid": _scores(baseline),
        "retrieve_p50_ms": round(statistics.median(retrieve_ms), 1) if retrieve_ms else 0.0,
    }
    if reranker is not None:
        result["reranked"] = _scores(reranked)
        result["candidates"] = candidates
        result["rerank_p50_ms"] = round(statistics.median(rerank_ms), 1) if rerank_ms else 0.0
        result["rerank_p95_ms"] = (
            round(sorted(rerank_ms)[int(0.95 * (len(rerank_ms) - 1))], 1) if rerank_ms else 0.0
        )
    return result
