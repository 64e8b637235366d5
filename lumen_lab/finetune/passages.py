"""Passages retrieved from the harness's PQA-L index, as the pipeline would show them.

Evaluation's retrieved condition searches this index; ``prepare`` uses the same index and the
same search to show a share of the training items (``data.retrieved_share``) their question's
own abstract among retrieved neighbours, the format the model meets when it serves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lumen_lab.finetune.config import Recipe

if TYPE_CHECKING:
    from lumen.rag.retrieve import RetrievedChunk, RetrieverMode
    from lumen_lab.finetune.data import Example

logger = logging.getLogger(__name__)

INDEX_DIR = "index"  # under the recipe's output folder, shared by prepare and evaluate


class Search(Protocol):
    """A search over the PQA-L index (see :func:`pqal_search`)."""

    def __call__(
        self, question: str, k: int, excluded: Collection[str] = ()
    ) -> list[RetrievedChunk]:
        """The top ``k`` passages for ``question``, none from an ``excluded`` document."""


def doc_id(pmid: str) -> str:
    """The index's document id of a PQA-L abstract."""
    return f"pubmed:{pmid}"


@contextmanager
def pqal_search(recipe: Recipe, index_dir: Path) -> Iterator[Search]:
    """``search(question, k, excluded)`` over the harness's ``pubmedqa`` corpus, built once.

    The corpus holds every PQA-L abstract of the recipe's PubMedQA folder, titled by its first
    sentence, without its conclusions, and lives in ``index_dir``. The retriever is
    ``evaluate.retriever``; the top ``k`` hits outside ``excluded`` then come with
    ``evaluate.neighbours`` chunks of their abstract around them, an abstract's chunks merged into
    one passage.
    """
    from lumen.rag.expand import expand_hits
    from lumen_lab.eval.context import EvalContext, RunOptions
    from lumen_lab.eval.registry import get_task
    from lumen_lab.finetune.data import settings_for

    context = EvalContext(
        settings_for(recipe),
        RunOptions(out_dir=index_dir.parent, index_dir=index_dir, plots=False),
    )
    spec = get_task("pubmedqa")
    try:
        index = context.index(spec, context.resolve(spec.data or recipe.data.pubmedqa))
        collections = context.collections(spec)
        mode: RetrieverMode = recipe.evaluate.retriever

        def search(question: str, k: int, excluded: Collection[str] = ()) -> list[RetrievedChunk]:
            depth = 4 * k if excluded else k
            found = index.retrieve(question, collections=collections, k=depth, mode=mode)
            hits = [h for h in found.chunks if h.chunk.doc_id not in excluded][:k]
            return expand_hits(hits, index.lumen.store.document_chunks, recipe.evaluate.neighbours)

        yield search
    finally:
        context.close()


def picked_for_retrieval(example_id: str, share: float) -> bool:
    """Whether an example is shown retrieved passages: a stable choice by hashed id."""
    digest = hashlib.sha256(f"retrieved:{example_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def with_retrieved_passages(
    examples: list[Example], search: Search, *, share: float, k: int, excluded: set[str]
) -> list[Example]:
    """``examples`` with the PubMedQA ones picked by ``share`` shown retrieved passages.

    A picked example gets the top ``k`` passages for its question, none from an ``excluded``
    document (the test split's abstracts), and cites its own abstract's passage; one
    whose own abstract is not among them keeps its labelled abstract.
    """
    result: list[Example] = []
    found: dict[str, list[RetrievedChunk]] = {}
    for example in examples:
        pmid = example.meta.get("pmid")
        if example.source != "pubmedqa" or not pmid or not picked_for_retrieval(example.id, share):
            result.append(example)
            continue
        if example.question not in found:
            found[example.question] = search(example.question, k, excluded)
        passages = found[example.question]
        own = [n for n, p in enumerate(passages) if p.chunk.doc_id == doc_id(str(pmid))]
        if not own:
            logger.info("%s keeps its abstract: not among the retrieved passages", example.id)
            result.append(example)
            continue
        result.append(
            dataclasses.replace(
                example,
                sources=[(p.chunk.display_title, p.chunk.text) for p in passages],
                cite=own[0] + 1,
                meta={**example.meta, "retrieved": [p.chunk.doc_id for p in passages]},
            )
        )
    return result
