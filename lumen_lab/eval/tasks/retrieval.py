"""Retrieval: recall@k, MRR and nDCG@k of the document ranking against relevance judgements."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lumen.errors import InputError
from lumen_lab.eval.datasets import RetrievalQuery, load_pqal, load_retrieval
from lumen_lab.eval.metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from lumen_lab.eval.registry import register_kind
from lumen_lab.eval.schema import ItemRecord
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind

if TYPE_CHECKING:
    from lumen.rag.retrieve import RetrievedChunk

_CUTOFF = re.compile(r"^(recall|ndcg|precision|hit)@(\d+)$")
ALL_RETRIEVERS = ("dense", "bm25", "hybrid")


def medquad_queries(root: Path) -> list[RetrievalQuery]:
    """MedQuAD questions, each judged relevant to its own document (doc id and URL)."""
    from lumen.ingest.loaders.medquad import iter_qa_pairs

    queries = []
    for pair in iter_qa_pairs(root):
        if not pair.question.strip() or not pair.answer.strip():
            continue
        qrels = {pair.doc_id: 1}
        queries.append(
            RetrievalQuery(
                id=f"{pair.doc_id}#{pair.qid}",
                question=pair.question.strip(),
                qrels=qrels,
                reference=pair.answer,
                url=pair.url,
            )
        )
    if not queries:
        raise InputError(f"{root}: no MedQuAD question/answer pairs found")
    return queries


def pubmedqa_queries(path: Path) -> list[RetrievalQuery]:
    """PubMedQA questions, each judged relevant to its abstract (``pubmed:<pmid>``)."""
    return [
        RetrievalQuery(id=item.pmid, question=item.question, qrels={f"pubmed:{item.pmid}": 1})
        for item in load_pqal(path)
    ]


def load_queries_for(fmt: str, path: Path) -> list[RetrievalQuery]:
    """Queries with relevance judgements from a dataset of format ``fmt``."""
    if fmt == "qrels":
        return load_retrieval(path)
    if fmt == "pqal":
        return pubmedqa_queries(path)
    if fmt == "medquad":
        return medquad_queries(path)
    raise InputError(f"retrieval tasks read qrels, pqal or medquad data, not {fmt!r}")


def rank_documents(chunks: list[RetrievedChunk], qrels: dict[str, int]) -> list[str]:
    """Document ids in order of their best chunk; a chunk counts by doc id, else by URL."""
    ranked: list[str] = []
    for item in chunks:
        chunk = item.chunk
        key = chunk.doc_id
        if key not in qrels and chunk.url in qrels:
            key = chunk.url
        if key not in ranked:
            ranked.append(key)
    return ranked


@register_kind("retrieval")
class RetrievalTask(TaskKind):
    """Queries with judged documents; dense, BM25 and hybrid side by side (one per condition).

    Options: ``depth`` documents ranked (default: the largest metric cutoff, at least 10),
    ``chunks`` chunks retrieved to rank them (default 5 x depth, at least 50).
    """

    modes: ClassVar[tuple[str, ...]] = ("retrieval",)
    default_format = "qrels"

    def load(self, path: Path) -> list[EvalItem]:
        """Queries that have a relevant document."""
        return [
            EvalItem(q.id, q.question, sorted(d for d, g in q.qrels.items() if g > 0), q)
            for q in load_queries_for(self.data_format, path)
        ]

    def conditions(self) -> list[Condition]:
        """One condition per retriever (all three unless --retriever or the task narrows)."""
        retrievers = self.ctx.options.retrievers or tuple(self.spec.retrievers) or ALL_RETRIEVERS
        return [Condition(r, "retrieval", r) for r in retrievers]

    def depth(self) -> int:
        """Documents ranked per query."""
        cutoffs = [int(m[2]) for m in map(_CUTOFF.match, self.spec.metrics) if m]
        return int(self.option("depth", max([10, *cutoffs])))

    def effective_options(self) -> dict[str, Any]:
        """Options after defaults."""
        depth = self.depth()
        return {**self.spec.options, "depth": depth, "chunks": self._chunks(depth)}

    def _chunks(self, depth: int) -> int:
        return int(self.option("chunks", max(50, 5 * depth)))

    def evaluate(self, item: EvalItem, condition: Condition) -> ItemRecord:
        """Rank documents for the query and score the ranking."""
        query: RetrievalQuery = item.payload
        depth = self.depth()
        chunks = self.retrieve(item.question, condition, self._chunks(depth))
        ranked = rank_documents(chunks, query.qrels)[:depth]
        values: dict[str, float] = {}
        for name in self.spec.metrics:
            match = _CUTOFF.match(name)
            if name == "mrr":
                values[name] = reciprocal_rank(ranked, query.qrels)
            elif match and match[1] == "recall":
                values[name] = recall_at_k(ranked, query.qrels, int(match[2]))
            elif match and match[1] == "ndcg":
                values[name] = ndcg_at_k(ranked, query.qrels, int(match[2]))
            elif match and match[1] == "hit":
                values[name] = float(recall_at_k(ranked, query.qrels, int(match[2])) > 0)
            elif match and match[1] == "precision":
                k = int(match[2])
                relevant = {d for d, g in query.qrels.items() if g > 0}
                values[name] = len(relevant & set(ranked[:k])) / k
        first = next((r for r, d in enumerate(ranked, 1) if query.qrels.get(d, 0) > 0), None)
        return self.record(
            item,
            condition,
            prediction=ranked[:10],
            values=values,
            details={"first_relevant_rank": first, "chunks_retrieved": len(chunks)},
        )
