"""The chunker against the real MiniLM tokenizer."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from lumen.components.model_files import minilm_dir
from lumen.documents import Chunk, Document, Section
from lumen.ingest.chunking import Chunker
from lumen.ingest.loaders import get_loader
from lumen.textutil import normalize_whitespace, split_sentences

from .conftest import Problems

Count = Callable[[str], int]


def doc(*sections: Section, title: str = "Glaucoma", metadata: dict | None = None) -> Document:
    return Document(
        id="doc:1",
        title=title,
        url="https://example.org/glaucoma",
        source="test",
        collection="knowledge",
        sections=sections,
        metadata=metadata or {},
    )


def long_text(n: int) -> str:
    return " ".join(
        f"Sentence number {i} says that glaucoma damages the optic nerve." for i in range(n)
    )


def check_windows(chunks: list[Chunk], count: Count, limit: int) -> None:
    for chunk in chunks:
        assert count(chunk.embed_text) <= limit, chunk.embed_text


def test_empty_documents_have_no_chunks(small_chunker: Chunker) -> None:
    assert small_chunker.chunk(doc()) == []
    assert small_chunker.chunk(doc(Section("Empty", "  \n\t "), Section("", ""))) == []


def test_a_short_section_is_one_chunk_with_every_field(small_chunker: Chunker) -> None:
    document = doc(Section("Symptoms", "Eye pain.  Blurred\tvision."), metadata={"k": [1]})
    (chunk,) = small_chunker.chunk(document)
    assert chunk.id == "doc:1#0"
    assert chunk.doc_id == "doc:1"
    assert chunk.position == 0
    assert chunk.n_chunks == 1
    assert chunk.title == "Glaucoma"
    assert chunk.section == "Symptoms"
    assert chunk.text == "Eye pain. Blurred vision."
    assert chunk.embed_text == "Glaucoma - Symptoms\nEye pain. Blurred vision."
    assert chunk.url == document.url
    assert chunk.collection == "knowledge"
    assert chunk.source == "test"
    assert chunk.doc_hash == document.content_hash
    assert chunk.metadata == {"k": [1]}
    assert chunk.metadata is not document.metadata


def test_long_sections_fit_the_window_and_overlap(small_chunker: Chunker, count: Count) -> None:
    text = long_text(30)
    chunks = small_chunker.chunk(doc(Section("Overview", text)))
    assert len(chunks) > 5
    check_windows(chunks, count, 64)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert {c.n_chunks for c in chunks} == {len(chunks)}
    assert len({c.id for c in chunks}) == len(chunks)
    sentences = split_sentences(text)
    for chunk in chunks:  # whole sentences only
        assert set(split_sentences(chunk.text)) <= set(sentences)
    covered = [s for c in chunks for s in split_sentences(c.text)]
    assert set(covered) == set(sentences)
    for first, second in itertools.pairwise(chunks):
        shared = [s for s in split_sentences(second.text) if s in split_sentences(first.text)]
        assert shared, "adjacent chunks share a trailing sentence"
        assert split_sentences(first.text)[-len(shared) :] == shared
        assert sum(count(s) - 2 for s in shared) <= 16


def test_no_overlap_when_disabled(count: Count) -> None:
    chunker = Chunker.for_minilm(64, 0)
    text = long_text(20)
    chunks = chunker.chunk(doc(Section("Overview", text)))
    check_windows(chunks, count, 64)
    pieces = [s for c in chunks for s in split_sentences(c.text)]
    assert pieces == split_sentences(text)


def test_budget_counts_the_titles_and_special_tokens(chunker: Chunker, count: Count) -> None:
    title = "Adult Acute Lymphoblastic Leukemia Treatment (PDQ) for Patients"
    section = "What are the treatments for Adult Acute Lymphoblastic Leukemia ?"
    chunks = chunker.chunk(doc(Section(section, long_text(60)), title=title))
    assert len(chunks) > 3
    check_windows(chunks, count, 200)
    assert all(c.embed_text.startswith(f"{title} - {section}\n") for c in chunks)
    assert max(count(c.embed_text) for c in chunks) >= 180  # packed, not timid


def test_chunks_never_cross_sections(small_chunker: Chunker) -> None:
    document = doc(
        Section("A", "Alpha text here. " + long_text(8)),
        Section("", "   "),
        Section("B", "Beta text here."),
    )
    chunks = small_chunker.chunk(document)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].section == "B"
    assert chunks[-1].text == "Beta text here."
    for chunk in chunks:
        source = next(s for s in document.sections if s.title == chunk.section)
        assert chunk.text in normalize_whitespace(source.text)


def test_a_giant_sentence_is_cut_by_tokens(small_chunker: Chunker, count: Count) -> None:
    text = " ".join(f"intraocular pressure{i}" for i in range(200))  # no punctuation
    chunks = small_chunker.chunk(doc(Section("", text)))
    assert len(chunks) > 10
    check_windows(chunks, count, 64)
    for chunk in chunks:
        assert chunk.text in text
        # Cut at word boundaries, decoded from offsets: no word pieces.
        assert "##" not in chunk.text
        start = text.index(chunk.text)
        assert start == 0 or text[start - 1] == " "
    assert chunks[0].text.startswith("intraocular pressure0 ")
    assert chunks[-1].text.endswith("intraocular pressure199")
    words = {w for c in chunks for w in c.text.split()}
    assert words == set(text.split())


def test_a_huge_heading_is_shortened(small_chunker: Chunker, count: Count) -> None:
    section = " ".join(["ophthalmology"] * 200)
    chunks = small_chunker.chunk(doc(Section(section, "Short text."), title="T " * 100))
    (chunk,) = chunks
    assert count(chunk.embed_text) <= 64
    assert chunk.text == "Short text."
    assert chunk.section
    assert chunk.title


def test_unicode_text(small_chunker: Chunker, count: Count) -> None:
    text = "Sjögren’s syndrome — dry eyes; 5 µg/mL. Émile’s café naïve 東京 ✓ 😀. " * 12
    chunks = small_chunker.chunk(doc(Section("Ünïcödé", text)))
    assert len(chunks) > 1
    check_windows(chunks, count, 64)
    for chunk in chunks:
        assert chunk.text in normalize_whitespace(text)
        assert chunk.text.startswith("Sjögren") or chunk.text.startswith("Émile")


def test_a_truncating_tokenizer_does_not_change_counts(count: Count) -> None:
    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=16)  # as an embedder may configure its own
    chunker = Chunker(tokenizer, 64, 16)
    chunks = chunker.chunk(doc(Section("Overview", long_text(20))))
    check_windows(chunks, count, 64)
    assert max(count(c.embed_text) for c in chunks) > 32


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="chunk_tokens"):
        Chunker.for_minilm(8, 0)
    with pytest.raises(ValueError, match="overlap_tokens"):
        Chunker.for_minilm(64, -1)
    # An overlap too large for the budget is capped, not an error.
    assert Chunker.for_minilm(64, 64).chunk(doc(Section("", long_text(10))))


def test_real_medquad_chunks_fit(
    sources_dir: Path, chunker: Chunker, tokenizer: Tokenizer, problems: Problems
) -> None:
    folder = sources_dir / "medquad" / "7_SeniorHealth_QA"
    documents = list(get_loader("medquad").load(folder, collection="knowledge", report=problems))
    assert documents
    assert not problems
    chunks = [c for d in documents for c in chunker.chunk(d)]
    lengths = [len(e.ids) for e in tokenizer.encode_batch([c.embed_text for c in chunks])]
    assert max(lengths) <= 200
    assert sum(lengths) / len(lengths) > 120
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for doc_chunks in by_doc.values():
        assert [c.position for c in doc_chunks] == list(range(len(doc_chunks)))
        assert {c.n_chunks for c in doc_chunks} == {len(doc_chunks)}
