"""Context expansion: each retrieved chunk with its neighbours, one source per document.

A chunk is cut to fit the embedding model's window, so a hit can hold a document's background
while its results sit in the next chunk. Expansion adds up to ``neighbours`` chunks on either side
of every hit and merges a document's chunks into one source, in document order, ranked where its
best hit ranked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from lumen.documents import Chunk, RetrievedChunk

FetchDocument = Callable[[str, str], list[Chunk]]  # (collection, doc_id) -> chunks by position

# Metadata of a merged source: where its best hit's text lies in it, kept when it must be cut.
FOCUS = "focus"
_MIN_OVERLAP_WORDS = 4  # shorter repeats are coincidence, not the chunker's overlap


def join_overlapping(first: str, second: str) -> str:
    """``first`` then ``second`` without the words ``second`` repeats from ``first``'s end."""
    head, tail = first.split(), second.split()
    for size in range(min(len(head), len(tail)), _MIN_OVERLAP_WORDS - 1, -1):
        if head[-size:] == tail[:size]:
            return " ".join([*head, *tail[size:]])
    return " ".join([*head, *tail])


def merged_text(chunks: Sequence[Chunk]) -> str:
    """The chunks' text in order: overlaps removed, a gap marked, each section on its own line.

    Where the chunks span more than one section, each line starts with its section's name
    (``Results: ...``), as a labelled abstract reads.
    """
    labelled = len({c.section for c in chunks}) > 1
    lines: list[str] = []
    previous: Chunk | None = None
    for chunk in chunks:
        text = " ".join(chunk.text.split())
        if previous is not None and chunk.section == previous.section:
            if chunk.position == previous.position + 1:
                lines[-1] = join_overlapping(lines[-1], text)
            else:
                lines[-1] = f"{lines[-1]} ... {text}"
        else:
            label = f"{chunk.section}: " if labelled and chunk.section else ""
            lines.append(label + text)
        previous = chunk
    return "\n".join(lines)


def _merged(best: RetrievedChunk, chunks: list[Chunk]) -> RetrievedChunk:
    if len(chunks) == 1 and chunks[0].id == best.chunk.id:
        return best
    first, last = chunks[0], chunks[-1]
    sections = {c.section for c in chunks}
    text = merged_text(chunks)
    hit = " ".join(best.chunk.text.split())
    start = max(text.find(hit), 0)
    chunk = dataclasses.replace(
        best.chunk,
        id=f"{first.doc_id}#{first.position}-{last.position}",
        section=first.section if len(sections) == 1 else "",
        text=text,
        position=first.position,
        metadata={
            **best.chunk.metadata,
            "positions": [c.position for c in chunks],
            FOCUS: [start, start + len(hit)],
        },
    )
    return dataclasses.replace(best, chunk=chunk)


def expand_hits(
    hits: Sequence[RetrievedChunk], fetch: FetchDocument, neighbours: int
) -> list[RetrievedChunk]:
    """One source per document among ``hits``: its hits and their neighbours, merged.

    Sources keep the order of each document's best hit, and its scores and ranks. A document the
    store no longer holds keeps its hits as they are.
    """
    if neighbours <= 0:
        return list(hits)
    by_document: dict[tuple[str, str], list[RetrievedChunk]] = {}
    for hit in hits:
        by_document.setdefault((hit.chunk.collection, hit.chunk.doc_id), []).append(hit)
    expanded: list[RetrievedChunk] = []
    for (collection, doc_id), found in by_document.items():
        stored = fetch(collection, doc_id)
        if not stored:
            expanded.extend(found)
            continue
        wanted = {
            position
            for hit in found
            for position in range(
                hit.chunk.position - neighbours, hit.chunk.position + neighbours + 1
            )
        }
        chunks = [c for c in stored if c.position in wanted]
        if not chunks:  # the stored document changed since the search
            chunks = sorted((h.chunk for h in found), key=lambda c: c.position)
        expanded.append(_merged(found[0], chunks))
    return expanded
