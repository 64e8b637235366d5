"""Context expansion: hits with their neighbours, one source per document, cut around the hit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lumen.documents import Chunk
from lumen.rag.expand import (
    FOCUS,
    expand_hits,
    join_keeping_lines,
    join_overlapping,
    merged_text,
    open_best_section,
)
from lumen.rag.prompt import build_prompt, truncate_around
from lumen.rag.retrieve import RetrievedChunk

WORDS = [f"w{n}" for n in range(60)]


def _chunk(doc: str, position: int, text: str, *, section: str = "Body", n: int = 6) -> Chunk:
    return Chunk(
        id=f"{doc}#{position}",
        doc_id=doc,
        collection="knowledge",
        source="test",
        title=f"Title {doc}",
        section=section,
        url=f"https://example.org/{doc}",
        text=text,
        position=position,
        n_chunks=n,
        doc_hash="h",
    )


def _document(doc: str) -> list[Chunk]:
    """Six chunks, two sections of three; a chunk repeats the last 4 words of the one before."""
    chunks = []
    for position in range(6):
        start = 10 * position - (4 if position % 3 else 0)
        section = "Methods" if position < 3 else "Results"
        chunks.append(
            _chunk(doc, position, " ".join(WORDS[start : 10 * position + 10]), section=section)
        )
    return chunks


def _hit(chunk: Chunk, score: float = 1.0) -> RetrievedChunk:
    return RetrievedChunk(chunk=chunk, score=score, dense_rank=1)


def test_join_overlapping_drops_only_a_real_overlap() -> None:
    assert join_overlapping("a b c d e f", "c d e f g h") == "a b c d e f g h"
    assert join_overlapping("the cat sat on", "on the mat") == "the cat sat on on the mat"


def test_merged_text_labels_sections_and_marks_gaps() -> None:
    doc = _document("d")
    text = merged_text([doc[0], doc[1], doc[3], doc[5]])
    methods, results = text.split("\n")
    assert methods == "Methods: " + " ".join(WORDS[:20])  # the overlap appears once
    assert results == "Results: " + " ".join(WORDS[30:40]) + " ... " + " ".join(WORDS[46:60])
    assert merged_text(doc[:2]) == " ".join(WORDS[:20])  # one section: no label


def test_expand_hits_merges_each_document_around_its_hits() -> None:
    documents = {"a": _document("a"), "b": _document("b")}
    asked: list[tuple[str, str]] = []

    def fetch(collection: str, doc_id: str) -> list[Chunk]:
        asked.append((collection, doc_id))
        return documents.get(doc_id, [])

    hits = [
        _hit(documents["a"][4], 0.9),
        _hit(documents["b"][0], 0.8),
        _hit(documents["a"][1], 0.7),
        _hit(_chunk("gone", 2, "no longer stored"), 0.6),
    ]
    first, second, third = expand_hits(hits, fetch, 1)
    assert sorted(asked) == [("knowledge", "a"), ("knowledge", "b"), ("knowledge", "gone")]
    assert first.chunk.metadata["positions"] == [0, 1, 2, 3, 4, 5]
    assert first.chunk.id == "a#0-5"
    assert first.score == 0.9
    assert first.dense_rank == 1
    assert first.chunk.section == ""
    assert first.chunk.text.count("\n") == 1
    start, end = first.chunk.metadata[FOCUS]
    assert first.chunk.text[start:end] == documents["a"][4].text  # the best hit is located
    assert second.chunk.metadata["positions"] == [0, 1]
    assert second.chunk.section == "Methods"
    assert third == hits[3]  # a document the store no longer holds keeps its hit
    assert expand_hits(hits, fetch, 0) == hits


def test_join_keeping_lines_drops_the_overlap_and_keeps_list_items() -> None:
    first = "Ticks carry disease. To protect yourself:\n- Use a repellent with DEET"
    second = "yourself:\n- Use a repellent with DEET\n- Wear light-colored clothing"
    assert join_keeping_lines(first, second) == (
        "Ticks carry disease. To protect yourself:\n- Use a repellent with DEET\n"
        "- Wear light-colored clothing"
    )
    assert join_keeping_lines("a b c", "d e f") == "a b c\nd e f"  # no overlap: a new line


def test_open_best_section_reads_the_best_hit_from_its_section_start() -> None:
    doc = _document("a")  # Methods 0-2, Results 3-5
    other = _document("b")

    def fetch(collection: str, doc_id: str) -> list[Chunk]:
        return {"a": doc, "b": other}.get(doc_id, [])

    hits = [_hit(doc[5], 0.9), _hit(other[1], 0.8), _hit(doc[4], 0.7), _hit(doc[1], 0.6)]
    best, *rest = open_best_section(hits, fetch, 2)
    assert best.chunk.metadata["positions"] == [3, 4, 5]  # its section only, from its start
    assert best.chunk.section == "Results"
    assert best.chunk.text == " ".join(WORDS[30:60])  # the chunker's overlaps removed
    assert best.score == 0.9
    start, end = best.chunk.metadata[FOCUS]
    assert best.chunk.text[start:end].split()[-1] == "w59"  # the hit sits at the end
    assert rest == [hits[1], hits[3]]  # the hit of chunk 4 is inside the merged source now
    assert open_best_section(hits, fetch, 1)[0].chunk.metadata["positions"] == [4, 5]
    # a section that starts with the best hit, a document no longer stored, or off: unchanged
    assert open_best_section([_hit(doc[3]), *hits], fetch, 2) == [_hit(doc[3]), *hits]
    gone = [_hit(_chunk("gone", 2, "no longer stored")), *hits]
    assert open_best_section(gone, fetch, 2) == gone
    assert open_best_section(hits, fetch, 0) == hits


class WordLLM:
    """Counts words; enough to check where a cut falls."""

    context_window = 4096

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_truncate_around_keeps_the_hit_and_what_surrounds_it() -> None:
    text = " ".join(WORDS)
    focus = (text.index("w40"), text.index("w44") + 3)
    cut = truncate_around(WordLLM(), text, 11, focus)  # type: ignore[arg-type]
    assert cut == "... w38 w39 w40 w41 w42 w43 w44 w45 w46 ..."
    assert truncate_around(WordLLM(), text, 100, focus) == text  # type: ignore[arg-type]
    assert truncate_around(WordLLM(), text, 3, focus) == "w40 w41 ..."  # type: ignore[arg-type]


def test_prompt_cuts_a_merged_source_around_its_hit(llm: Any) -> None:
    documents = {"a": _document("a")}
    (merged,) = expand_hits([_hit(documents["a"][5])], lambda c, d: documents[d], 5)
    plain = replace(merged, chunk=replace(merged.chunk, metadata={}))

    def sources_shown(item: RetrievedChunk) -> str:
        prompt = build_prompt(
            llm, "What was found?", [item], max_answer_tokens=64, max_context_tokens=120
        )
        return prompt.messages[-1].content.split("Question:")[0]

    shown = sources_shown(merged)
    assert "w59" in shown
    assert "w0 " not in shown
    shown = sources_shown(plain)  # without the focus the end is cut, and the hit with it
    assert "w0 " in shown
    assert "w59" not in shown
