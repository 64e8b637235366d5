"""The chunker against the real MiniLM tokenizer."""

from __future__ import annotations

import pytest

from lumen.documents import Document, Section
from lumen.ingest.chunking import Chunker
from lumen.textutil import split_sentences


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker.for_minilm(chunk_tokens=64, overlap_tokens=16)


def doc(*sections: Section, title: str = "Glaucoma") -> Document:
    return Document(
        id="d1", title=title, url="https://x", source="t", collection="knowledge", sections=sections
    )


def window(chunker: Chunker, text: str) -> int:
    return chunker.count_tokens(text) + 2


def test_empty_document_has_no_chunks(chunker: Chunker) -> None:
    assert chunker.chunk(doc()) == []
    assert chunker.chunk(doc(Section("Empty", "  \n "))) == []


def test_short_section_is_one_chunk_with_titles(chunker: Chunker) -> None:
    (chunk,) = chunker.chunk(doc(Section("Symptoms", "Eye pain. Blurred vision.")))
    assert chunk.id == "d1#0" and chunk.position == 0 and chunk.n_chunks == 1
    assert chunk.embed_text == "Glaucoma - Symptoms\nEye pain. Blurred vision."
    assert chunk.doc_hash == doc(Section("Symptoms", "Eye pain. Blurred vision.")).content_hash


def test_long_section_fits_the_window_with_overlap(chunker: Chunker) -> None:
    text = " ".join(
        f"Sentence number {i} talks about the optic nerve and eye pressure." for i in range(30)
    )
    chunks = chunker.chunk(doc(Section("Overview", text)))
    assert len(chunks) > 3
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.n_chunks == len(chunks) for c in chunks)
    for chunk in chunks:
        assert window(chunker, chunk.embed_text) <= 64
    for first, second in zip(chunks, chunks[1:], strict=False):
        assert split_sentences(first.text)[-1] == split_sentences(second.text)[0]


def test_chunks_do_not_cross_sections(chunker: Chunker) -> None:
    chunks = chunker.chunk(doc(Section("A", "Alpha text here."), Section("B", "Beta text here.")))
    assert [(c.section, c.text) for c in chunks] == [
        ("A", "Alpha text here."),
        ("B", "Beta text here."),
    ]


def test_giant_sentence_is_cut_by_tokens(chunker: Chunker) -> None:
    text = " ".join(["intraocular"] * 300)
    chunks = chunker.chunk(doc(Section("", text)))
    assert len(chunks) > 3
    assert all(window(chunker, c.embed_text) <= 64 for c in chunks)
    assert sum(c.text.count("intraocular") for c in chunks) >= 300


def test_unicode_survives(chunker: Chunker) -> None:
    (chunk,) = chunker.chunk(doc(Section("", "Sjögren’s syndrome — dry eyes; 5 µg/mL.")))
    assert chunk.text == "Sjögren’s syndrome — dry eyes; 5 µg/mL."


def test_overlap_must_be_small() -> None:
    with pytest.raises(ValueError):
        Chunker.for_minilm(chunk_tokens=64, overlap_tokens=40)
