"""Training groups for the reranker: a MedQuAD question, its own answer chunk and hard negatives.

Questions come from MedQuAD pairs outside the dev split and the benchmark's recall pairs
(:mod:`lumen_lab.retrieval.split`). The positive is the chunk of the index that opens the
question's own answer; negatives are hybrid-retrieval hits from other pages, skipping pages on
the same condition (MedQuAD covers many conditions in several collections, and those pages
answer the question too).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lumen.documents import KNOWLEDGE, Chunk
from lumen.factory import Lumen
from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs
from lumen_lab.rerank.config import RerankConfig
from lumen_lab.retrieval.split import HeldOut, held_out

logger = logging.getLogger(__name__)

_PREFIX_CHARS = 60


@dataclass(frozen=True)
class Group:
    """One question with its relevant passage first, then its negatives."""

    question: str
    positive: str
    negatives: tuple[str, ...]
    doc_id: str


def training_pairs(medquad_dir: Path, config: RerankConfig) -> tuple[list[QAPair], HeldOut]:
    """The pairs the reranker may train on, in a seeded order, and what was held out."""
    held = held_out(medquad_dir, share=config.dev_share)
    pairs = [p for p in iter_qa_pairs(medquad_dir) if p.question and not held.excludes(p)]
    random.Random(config.seed).shuffle(pairs)
    return pairs, held


def answer_chunk(pair: QAPair, chunks: Iterable[Chunk]) -> Chunk | None:
    """The chunk of the pair's document that opens the pair's answer."""
    body = " ".join((pair.body or pair.answer).split())[:_PREFIX_CHARS]
    for chunk in chunks:
        if " ".join(chunk.text.split()).startswith(body):
            return chunk
    return None


def _same_condition(chunk: Chunk, pair: QAPair) -> bool:
    focus = pair.focus.lower().strip()
    return bool(focus) and chunk.title.lower().strip() == focus


def build_groups(
    lumen: Lumen,
    pairs: Iterable[QAPair],
    config: RerankConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Group]:
    """Up to ``config.questions`` groups from ``pairs`` (questions without a positive skipped)."""
    rng = random.Random(config.seed + 1)
    wanted = config.questions
    made = 0
    for pair in pairs:
        if made >= wanted:
            break
        positive = answer_chunk(pair, lumen.store.document_chunks(KNOWLEDGE, pair.doc_id))
        if positive is None:
            continue
        found = lumen.retriever.retrieve(
            pair.question,
            collections=[KNOWLEDGE],
            k=config.candidates,
            mode="hybrid",
            neighbours=0,
            rerank=False,
        )
        others = [
            hit.chunk
            for hit in found.chunks
            if hit.chunk.url != pair.url
            and hit.chunk.doc_id != pair.doc_id
            and not _same_condition(hit.chunk, pair)
        ]
        if len(others) < config.negatives:
            continue
        # The hardest half always, the rest sampled from the remaining hits.
        hardest = others[: (config.negatives + 1) // 2]
        rest = rng.sample(others[len(hardest) :], config.negatives - len(hardest))
        made += 1
        if progress is not None:
            progress(made, wanted)
        yield Group(
            question=pair.question,
            positive=positive.embed_text,
            negatives=tuple(c.embed_text for c in [*hardest, *rest]),
            doc_id=pair.doc_id,
        )


def write_groups(groups: Iterable[Group], path: Path) -> int:
    """Write JSONL (atomically); returns the count."""
    partial = path.with_suffix(".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for group in groups:
            out.write(json.dumps(asdict(group)) + "\n")
            count += 1
    partial.replace(path)
    return count


def read_groups(path: Path) -> list[Group]:
    """Groups written by :func:`write_groups`."""
    groups = []
    with path.open(encoding="utf-8") as source:
        for line in source:
            if line.strip():
                data = json.loads(line)
                data["negatives"] = tuple(data["negatives"])
                groups.append(Group(**data))
    return groups
