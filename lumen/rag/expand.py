"""Context expansion: each retrieved chunk with its neighbours, one source per document.

A chunk is cut to fit the embedding model's window, so a hit can hold a document's background
while its results sit in the next chunk. Expansion adds up to ``neighbours`` chunks on either side
of every hit and merges a document's chunks into one source, in document order, ranked where its
best hit ranked.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from lumen.documents import Chunk, RetrievedChunk

FetchDocument = Callable[[str, str], list[Chunk]]  # (collection, doc_id) -> chunks by position

# Metadata of a merged source: where its best hit's text lies in it, kept when it must be cut.
FOCUS = "focus"
_MIN_OVERLAP_WORDS = 4  # shorter repeats are coincidence, not the chunker's overlap


def _overlap(head: Sequence[str], tail: Sequence[str]) -> int:
    """How many words ``tail`` repeats from ``head``'s end (0 below the chunker's overlap)."""
    for size in range(min(len(head), len(tail)), _MIN_OVERLAP_WORDS - 1, -1):
        if head[-size:] == tail[:size]:
            return size
    return 0


def join_overlapping(first: str, second: str) -> str:
    """``first`` then ``second`` without the words ``second`` repeats from ``first``'s end."""
    head, tail = first.split(), second.split()
    return " ".join([*head, *tail[_overlap(head, tail) :]])


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


def join_keeping_lines(first: str, second: str) -> str:
    """:func:`join_overlapping` that keeps both texts' line breaks (list items stay items)."""
    tail = list(re.finditer(r"\S+", second))
    size = _overlap(first.split(), [m.group() for m in tail])
    if size:
        return first.rstrip() + second[tail[size - 1].end() :].rstrip()
    return f"{first.rstrip()}\n{second.strip()}"


def _merged(best: RetrievedChunk, chunks: list[Chunk], text: str | None = None) -> RetrievedChunk:
    if len(chunks) == 1 and chunks[0].id == best.chunk.id:
        return best
    first, last = chunks[0], chunks[-1]
    sections = {c.section for c in chunks}
    text = merged_text(chunks) if text is None else text
    hit = " ".join(best.chunk.text.split())
    start = text.find(hit)
    if start < 0:  # text that keeps line breaks: the best hit is its last chunk
        start = max(len(text) - len(best.chunk.text), 0)
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


def open_best_section(
    hits: Sequence[RetrievedChunk], fetch: FetchDocument, before: int
) -> list[RetrievedChunk]:
    """``hits`` with the best one read from its section's start (at most ``before`` chunks back).

    A long section is cut into chunks, and the one that matches a chatty question best can be
    its middle: a list of tick-bite precautions without the sentence that says what ticks are.
    The chunks of the best hit's section before it are merged into it; other hits that the
    merged source now holds are dropped. A section that starts with the hit, or a document the
    store no longer holds, leaves ``hits`` as they are.
    """
    if before <= 0 or not hits:
        return list(hits)
    best = hits[0].chunk
    stored = fetch(best.collection, best.doc_id)
    by_position = {c.position: c for c in stored}
    if by_position.get(best.position, best).id != best.id:
        return list(hits)  # the stored document changed since the search
    run = [best]
    while len(run) <= before:
        previous = by_position.get(run[0].position - 1)
        if previous is None or previous.section != best.section:
            break
        run.insert(0, previous)
    if len(run) == 1:
        return list(hits)
    text = run[0].text.strip()
    for chunk in run[1:]:
        text = join_keeping_lines(text, chunk.text)
    held = {(c.doc_id, c.position) for c in run}
    rest = [h for h in hits[1:] if (h.chunk.doc_id, h.chunk.position) not in held]
    return [_merged(hits[0], run, text), *rest]
