"""Reordering retrieved chunks by how well their headings match the question."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lumen.documents import Chunk, Document, Section
from lumen.factory import build_lumen
from lumen.rag.headings import HeadingMatcher, title_share, title_stems
from lumen.rag.qtypes import QuestionTypes
from lumen.rag.retrieve import RetrievedChunk
from lumen.settings import Settings

QUESTION = (
    "sorry if this is a dumb question but our doctor mentioned moebius syndrome at my grandmas "
    "last visit, what symptoms should i watch out for with it thanks"
)
SECTIONS = {
    "inherited": (
        "Is Moebius syndrome inherited ?",
        "Most cases of Moebius syndrome are sporadic, which means they occur in people with no "
        "history of the disorder in their family.",
    ),
    "symptoms": (
        "What are the symptoms of Moebius syndrome ?",
        "Moebius syndrome is present from birth. People with it cannot move their faces: they "
        "cannot smile, frown or raise their eyebrows, and cannot move their eyes sideways.",
    ),
    "frequency": (
        "How many people are affected by Moebius syndrome ?",
        "The exact incidence of Moebius syndrome is unknown; researchers estimate that it "
        "affects 1 in 50,000 to 1 in 500,000 newborns.",
    ),
}


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)  # type: ignore[no-any-return]


def _chunk(
    key: str,
    rank: int,
    *,
    doc: str = "moebius",
    title: str = "Moebius syndrome",
    sections: dict[str, tuple[str, str]] = SECTIONS,
    dense_score: float | None = None,
) -> RetrievedChunk:
    section, text = sections[key]
    chunk = Chunk(
        id=f"{doc}#{key}",
        doc_id=doc,
        collection="knowledge",
        source="test",
        title=title,
        section=section,
        url=f"https://example.org/{doc}",
        text=text,
        position=rank,
        n_chunks=len(sections),
        doc_hash="h",
    )
    return RetrievedChunk(chunk=chunk, score=1 / (60 + rank), dense_score=dense_score)


def test_the_chunk_whose_heading_the_question_asks_about_comes_first(embedder) -> None:  # type: ignore[no-untyped-def]
    fused = [_chunk("inherited", 1), _chunk("frequency", 2), _chunk("symptoms", 3)]
    query = embedder.embed([QUESTION])[0]
    matcher = HeadingMatcher(embedder)
    reordered = matcher.reorder(query, fused, k=2)
    assert [c.chunk.id for c in reordered] == ["moebius#symptoms", "moebius#inherited"]
    assert reordered[0].score > reordered[1].score
    # A large rank bonus keeps retrieval's order: the bonus is what breaks near-ties.
    keeps = HeadingMatcher(embedder, rank_weight=10.0).reorder(query, fused, k=3)
    assert [c.chunk.id for c in keeps] == [c.chunk.id for c in fused]
    assert matcher.reorder(query, [], k=3) == []


def test_heading_vectors_are_embedded_once(embedder) -> None:  # type: ignore[no-untyped-def]
    counting = CountingEmbedder(embedder)
    matcher = HeadingMatcher(counting)
    fused = [_chunk("inherited", 1), _chunk("symptoms", 2)]
    query = embedder.embed([QUESTION])[0]
    matcher.reorder(query, fused, k=2)
    matcher.reorder(query, list(reversed(fused)), k=2)
    assert sorted(counting.texts) == sorted(c.chunk.section for c in fused)
    assert QUESTION not in counting.texts  # the question is never embedded (or kept) here


def _document() -> Document:
    return Document(
        id="moebius",
        title="Moebius syndrome",
        url="https://example.org/moebius",
        source="pages",
        collection="knowledge",
        sections=tuple(Section(title, text) for title, text in SECTIONS.values()),
    )


def test_retrieval_reorders_by_heading_unless_turned_off(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    on = Settings(paths={"data_dir": tmp_path / "data"})
    off = Settings(paths={"data_dir": tmp_path / "data"}, retrieval={"heading_match": False})
    with build_lumen(on, embedder=embedder) as lumen:
        lumen.ingestor.ingest([_document()], collection="knowledge")
        fused = lumen.retriever.retrieve(QUESTION, collections=["knowledge"], k=3, mode="bm25")
        plain = build_lumen(off, embedder=embedder)
        plain.__dict__["store"] = lumen.store  # one process holds the embedded index
        unordered = plain.retriever.retrieve(QUESTION, collections=["knowledge"], k=3, mode="bm25")
    assert fused.chunks[0].chunk.section == "What are the symptoms of Moebius syndrome ?"
    types = QuestionTypes.load()
    weight = on.retrieval.heading_type_weight
    expected = HeadingMatcher(
        embedder,
        question_types=types,
        type_weight=weight,
        title_weight=on.retrieval.heading_title_weight,
    ).reorder(fused.query_vector, unordered.chunks, k=3, question=fused.query)
    assert [c.chunk.id for c in fused.chunks] == [c.chunk.id for c in expected]
    assert [c.score for c in fused.chunks] == [c.score for c in expected]


ALS = "What is the outlook for people with ALS?"
ALS_SECTIONS = {
    "research": (
        "what research is being done for ALS ?",
        "The goals of this research are to find the causes of ALS, understand the mechanisms "
        "involved in the progression of the disease, and develop effective treatments for ALS.",
    ),
    "prognosis": (
        "what is the prognosis for ALS ?",
        "Regardless of the part of the body first affected by the disease, muscle weakness and "
        "atrophy spread to other parts of the body as the disease progresses.",
    ),
}


def _als_chunk(key: str, rank: int) -> RetrievedChunk:
    return _chunk(key, rank, doc="als", title="ALS", sections=ALS_SECTIONS, dense_score=0.5)


def test_a_heading_that_asks_what_the_question_asks_comes_first(embedder) -> None:  # type: ignore[no-untyped-def]
    # "outlook" and "prognosis" share no word; the research heading shares "ALS" and "for".
    fused = [_als_chunk("research", 1), _als_chunk("prognosis", 2)]
    query = embedder.embed([ALS])[0]
    words_only = HeadingMatcher(embedder).reorder(query, fused, k=2)
    assert words_only[0].chunk.id == "als#research"
    types = QuestionTypes.load()
    typed = HeadingMatcher(embedder, question_types=types, type_weight=0.2)
    assert typed.reorder(query, fused, k=2)[0].chunk.id == "als#prognosis"
    # A zero weight is the plain heading match.
    off = HeadingMatcher(embedder, question_types=types, type_weight=0.0).reorder(query, fused, k=2)
    assert [c.score for c in off] == [c.score for c in words_only]


FIBRO = "I was diagnosed with fibromyalgia. what are the treatments available? I hurt all over"
OTHER_TREATMENTS = {
    "pain": (
        "What are the treatments for Chronic Pain ?",
        "Medications, acupuncture, local electrical stimulation and brain stimulation, as well "
        "as surgery, are some of the treatments for chronic pain.",
    ),
    "myopathy": (
        "What are the treatments for Inflammatory Myopathies ?",
        "The chronic inflammatory myopathies cannot be cured in most adults, but many of their "
        "symptoms can be treated; options include medication, physical therapy and rest.",
    ),
    "letrozole": (
        "What are the treatments for Breast Cancer ?",
        "Aromatase inhibitors such as letrozole lower the risk of a recurrence of breast cancer.",
    ),
}
FIBRO_PAGE = {
    "information": (
        "What is (are) Fibromyalgia ?",
        "Fibromyalgia is a disorder that causes muscle pain and fatigue. There is no cure, but "
        "medicine can help you manage the symptoms; sleep, exercise and a healthy diet help too.",
    ),
}


def _fibro_candidates() -> list[RetrievedChunk]:
    titles = {"pain": "Chronic Pain", "myopathy": "Inflammatory Myopathies"}
    titles["letrozole"] = "Breast Cancer"
    others = [
        _chunk(key, rank, doc=key, title=title, sections=OTHER_TREATMENTS, dense_score=0.5)
        for rank, (key, title) in enumerate(titles.items(), start=1)
    ]
    page = _chunk(
        "information", 4, doc="fibro", title="Fibromyalgia", sections=FIBRO_PAGE, dense_score=0.4
    )
    return [*others, page]


def test_a_page_named_by_the_question_is_not_left_out_for_sections_of_the_type_asked(
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    """Without it, the best k mention no fibromyalgia and the answer would abstain."""
    query = embedder.embed([FIBRO])[0]
    candidates = _fibro_candidates()
    subjects = ("fibromyalgia",)
    plain = HeadingMatcher(embedder).reorder(query, candidates, k=2, subjects=subjects)
    assert "fibro#information" not in [c.chunk.id for c in plain]
    first = HeadingMatcher(embedder, subjects_first=True)
    kept = first.reorder(query, candidates, k=2, subjects=subjects)
    assert kept[0].chunk.id == "fibro#information"
    # A page that names the subject only in its text (a drug in passing) is not promoted.
    drug = first.reorder(query, candidates[:3], k=2, subjects=("letrozole",))
    unmoved = HeadingMatcher(embedder).reorder(query, candidates[:3], k=2)
    assert "letrozole#letrozole" not in [c.chunk.id for c in unmoved]
    assert [c.chunk.id for c in drug] == [c.chunk.id for c in unmoved]
    # When the best k already mention every subject, the order is the plain heading match.
    named = first.reorder(query, candidates, k=4, subjects=subjects)
    assert [c.chunk.id for c in named] == [
        c.chunk.id for c in HeadingMatcher(embedder).reorder(query, candidates, k=4)
    ]


FEVER = "my 4 year old has had a fever of 102 for 3 days, should i be worried"
FEVER_PAGES = {
    "typhoid": (
        "What are the symptoms of Typhoid Fever ?",
        "Persons with typhoid fever usually have a sustained fever as high as 103 to 104 F.",
    ),
    "fever": (
        "What is (are) Fever ?",
        "A fever is a body temperature that is higher than normal. It is not an illness.",
    ),
}


def test_title_share_counts_the_title_words_the_question_uses() -> None:
    asked = title_stems(FEVER)
    assert title_share("Fever", asked) == 1.0
    assert title_share("Typhoid Fever", asked) == 0.5
    assert title_share("Rheumatic Fever (Acute)", asked) == 1 / 3  # "acute" is a title word
    assert title_share("Migraine", title_stems("I keep getting migraines with aura")) == 1.0
    assert title_share("", asked) == 0.0
    assert title_share("of the", asked) == 0.0  # no word long enough to say anything


def test_a_page_titled_by_what_the_question_names_comes_before_a_longer_title(
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    candidates = [
        _chunk(key, rank, doc=key, title=title, sections=FEVER_PAGES, dense_score=0.5)
        for rank, (key, title) in enumerate((("typhoid", "Typhoid Fever"), ("fever", "Fever")))
    ]
    query = embedder.embed([FEVER])[0]
    # Bonuses out of the way of what is measured: the type model and a rank bonus that
    # keeps the fused order unless a title says otherwise.
    plain = HeadingMatcher(embedder, rank_weight=1.0).reorder(
        query, candidates, k=2, question=FEVER
    )
    assert plain[0].chunk.id == "typhoid#typhoid"
    titled = HeadingMatcher(embedder, rank_weight=1.0, title_weight=1.0)
    reordered = titled.reorder(query, candidates, k=2, question=FEVER)
    assert [c.chunk.id for c in reordered] == ["fever#fever", "typhoid#typhoid"]
    # Without the question's text (a caller that has none), the weight changes nothing.
    assert titled.reorder(query, candidates, k=2) == plain
