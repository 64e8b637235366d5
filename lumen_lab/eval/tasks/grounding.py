"""Grounding: whether Lumen's answers are supported by their citations, and correct."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from lumen.errors import InputError
from lumen_lab.eval.datasets import RetrievalQuery, iter_jsonl
from lumen_lab.eval.metrics import rouge_l, token_f1
from lumen_lab.eval.registry import register_kind
from lumen_lab.eval.schema import ItemRecord
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind
from lumen_lab.eval.tasks.retrieval import medquad_queries


def draft_sentence_count(draft: str) -> int:
    """Sentences of a draft as Lumen's verifier splits them."""
    from lumen.rag.verify import strip_citation_marks
    from lumen.textutil import split_sentences

    return sum(1 for s in split_sentences(draft) if strip_citation_marks(s))


def questions_jsonl(path: Path) -> list[RetrievalQuery]:
    """``{"id", "question"[, "answer"][, "url"]}`` per line."""
    queries = []
    for number, raw in iter_jsonl(path):
        if not isinstance(raw, dict):
            raise InputError(f"{path}: record 'line {number}' must be an object")
        question = raw.get("question")
        if not isinstance(question, str) or not question.strip():
            raise InputError(
                f"{path}: record 'line {number}': field 'question' must be a non-empty string"
            )
        answer = raw.get("answer", "")
        if not isinstance(answer, str):
            raise InputError(f"{path}: record 'line {number}': field 'answer' must be a string")
        url = raw.get("url", "")
        queries.append(
            RetrievalQuery(
                id=str(raw.get("id", number)),
                question=question.strip(),
                reference=answer,
                url=str(url or ""),
            )
        )
    return queries


@register_kind("grounding")
class GroundingTask(TaskKind):
    """Questions asked through the whole RAG pipeline; citations and answers checked.

    Per item: ``sentence_support`` (share of the model's draft sentences the verifier kept),
    ``cited_sentences``, ``citation_validity`` (citations that point at retrieved chunks),
    ``abstention_rate``, ``extractive_rate``, and, where a reference answer exists,
    ``token_f1``, ``rouge_l`` and ``reference_cited`` (its document is cited).
    """

    modes: ClassVar[tuple[str, ...]] = ("rag",)
    default_format = "medquad"

    def load(self, path: Path) -> list[EvalItem]:
        """MedQuAD question/answer pairs, or questions as JSON lines."""
        if self.data_format == "medquad":
            queries = medquad_queries(path)
        elif self.data_format == "questions-jsonl":
            queries = questions_jsonl(path)
        else:
            raise InputError(
                f"grounding tasks read medquad or questions-jsonl, not {self.data_format!r}"
            )
        return [EvalItem(q.id, q.question, q.reference or None, q) for q in queries]

    def effective_options(self) -> dict[str, Any]:
        """Options after defaults."""
        return {**self.spec.options, "k": self.ctx.options.k or self.ctx.settings.retrieval.k}

    def scoring(self, condition: Condition) -> str | None:
        """Lumen's own verifier."""
        return "pipeline"

    def evaluate(self, item: EvalItem, condition: Condition) -> ItemRecord:
        """Ask the question and measure the answer's grounding."""
        from lumen.rag.pipeline import AskOptions

        query: RetrievalQuery = item.payload
        mode: Any = condition.retriever
        answer = self.index.ask(
            item.question,
            AskOptions(
                collections=self.ctx.collections(self.spec), k=self.ctx.options.k, mode=mode
            ),
        )
        values: dict[str, float] = {
            "abstention_rate": float(answer.abstained),
            "extractive_rate": float(answer.mode == "extractive"),
        }
        if answer.sentences:
            cited = sum(1 for s in answer.sentences if s.citations)
            values["cited_sentences"] = cited / len(answer.sentences)
        retrieved = {source.chunk_id for source in answer.retrieved}
        if answer.citations:
            valid = sum(1 for c in answer.citations if c.chunk_id in retrieved)
            values["citation_validity"] = valid / len(answer.citations)
        total = draft_sentence_count(answer.draft) if answer.draft else 0
        if total:
            values["sentence_support"] = max(0, total - answer.dropped_sentences) / total
        if not answer.abstained and query.reference:
            values["token_f1"] = token_f1(answer.answer, query.reference)
            values["rouge_l"] = rouge_l(answer.answer, query.reference)
        if not answer.abstained and query.url:
            values["reference_cited"] = float(any(c.url == query.url for c in answer.citations))
        return self.record(
            item,
            condition,
            target=(query.reference[:500] or None),
            prediction=answer.answer,
            values=values,
            details={
                "mode": answer.mode,
                "draft": answer.draft,
                "dropped_sentences": answer.dropped_sentences,
                "citations": [
                    {"n": c.n, "chunk_id": c.chunk_id, "url": c.url, "score": c.score}
                    for c in answer.citations
                ],
                "retrieved": [s.chunk_id for s in answer.retrieved],
                "timings_ms": answer.timings_ms,
            },
        )
