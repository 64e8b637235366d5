"""Spelling correction against the index's own words: what is corrected, what is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.documents import Document, Section
from lumen.factory import build_lumen
from lumen.ingest.pipeline import GENERATION_KEY
from lumen.ingest.vocabulary import VOCABULARY_KEY, document_frequencies
from lumen.rag.spelling import IndexSpelling, SpellingCorrector, english_words
from lumen.settings import Settings

VOCABULARY = {
    "cataract": 40,
    "cataracts": 12,
    "proteinuria": 9,
    "hemorrhoids": 15,
    "dermoids": 4,
    "glaucoma": 30,
    "hobby": 3,
    "hearing": 50,
    "bearing": 2,
    "treatment": 300,
    "worry": 20,
    "streiff": 1,  # a name one page uses: known, never a correction
    "strife": 1,
}
ENGLISH = frozenset({"husband", "hubby", "worried", "treatment", "please", "sorry"})


@pytest.fixture
def corrector() -> SpellingCorrector:
    return SpellingCorrector(VOCABULARY, ENGLISH)


@pytest.mark.parametrize(
    ("typo", "intended"),
    [
        ("catraact", "cataract"),  # neighbours swapped: one edit
        ("prteinuria", "proteinuria"),  # a letter left out
        ("hemprrhoods", "hemorrhoids"),  # two letters wrong in a long word
        ("glaukoma", "glaucoma"),
    ],
)
def test_misspelled_words_become_indexed_words(
    corrector: SpellingCorrector, typo: str, intended: str
) -> None:
    assert corrector.suggest(typo) == intended


def test_known_short_and_distant_words_are_left_alone(corrector: SpellingCorrector) -> None:
    assert corrector.suggest("cataract") is None  # indexed
    assert corrector.suggest("streiff") is None  # indexed, if only once
    assert corrector.suggest("hubby") is None  # English, one edit from "hobby"
    assert corrector.suggest("glacoma") == "glaucoma"
    assert corrector.suggest("glcma") is None  # three edits
    assert corrector.suggest("catarct") == "cataract"
    assert corrector.suggest("hobb") is None  # too short to guess
    assert corrector.suggest("zzzzzzzz") is None


def test_a_word_one_page_uses_is_never_a_correction(corrector: SpellingCorrector) -> None:
    assert corrector.suggest("strifee") is None  # one edit from "strife", used once


def test_among_equally_close_words_the_commoner_wins(corrector: SpellingCorrector) -> None:
    # "xearing" is one edit from both "hearing" (50 documents) and "bearing" (2).
    assert corrector.suggest("xearing") == "hearing"


def test_a_word_that_sounds_alike_beats_a_nearer_one(corrector: SpellingCorrector) -> None:
    # "hemroids" is two edits from "dermoids" and three from "hemorrhoids", which it sounds like.
    assert corrector.suggest("hemroids") == "hemorrhoids"
    assert SpellingCorrector({"dermoids": 4}, ENGLISH).suggest("hemroids") == "dermoids"


def test_a_word_nearer_to_english_is_left_alone(corrector: SpellingCorrector) -> None:
    # "sorrry" is one edit from "sorry" (English) and two from "worry" (indexed).
    long_english = SpellingCorrector(VOCABULARY, ENGLISH, two_edits_from=6)
    assert long_english.suggest("sorrry") is None
    assert SpellingCorrector(VOCABULARY, frozenset(), two_edits_from=6).suggest("sorrry") == (
        "worry"
    )


def test_a_question_keeps_its_shape_and_reports_its_changes(corrector: SpellingCorrector) -> None:
    correction = corrector.correct("My hubby's CATRAACT got worse, what treatment?? pls help")
    assert correction.text == "My hubby's cataract got worse, what treatment?? pls help"
    assert correction.changes == (("CATRAACT", "cataract"),)
    unchanged = corrector.correct("What treatment helps glaucoma?")
    assert unchanged.text == "What treatment helps glaucoma?"
    assert unchanged.changes == ()


def test_without_a_vocabulary_nothing_changes() -> None:
    empty = SpellingCorrector({}, ENGLISH)
    assert empty.correct("catraact").text == "catraact"


def test_the_english_list_knows_everyday_words_not_typos() -> None:
    english = english_words()
    assert {"husband", "worried", "daughter", "because"} <= english
    assert not {"catraact", "prteinuria", "hemprrhoods"} & english


def _page(doc_id: str, title: str, text: str, source: str = "pages") -> Document:
    return Document(
        id=doc_id,
        title=title,
        url=f"https://example.org/{doc_id}",
        source=source,
        collection="knowledge",
        sections=(Section("", text),),
    )


PAGES = [
    _page("cataract", "Cataract", "A cataract clouds the lens of the eye. Cataract surgery helps."),
    _page("glaucoma", "Glaucoma", "Glaucoma damages the optic nerve. A cataract is different."),
    _page("asthma", "Asthma", "Asthma narrows the airways. An inhaler opens them."),
]


def test_document_frequencies_count_documents_not_mentions() -> None:
    counts = document_frequencies(PAGES)
    assert counts["cataract"] == 2  # three mentions in two pages
    assert counts["asthma"] == 1
    assert "lens" in counts
    assert "the" not in counts
    assert "an" not in counts
    assert counts == dict(sorted(counts.items()))


def test_ingest_records_the_vocabulary_and_retrieval_corrects_with_it(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    with build_lumen(settings, embedder=embedder) as lumen:
        store, ingestor, retriever = lumen.store, lumen.ingestor, lumen.retriever
        ingestor.ingest(PAGES, collection="knowledge")
        assert store.get_metadata(VOCABULARY_KEY.format(collection="knowledge")) is None

        # BM25 knows no "catraact": without the vocabulary nothing matches.
        before = retriever.retrieve("catraact", collections=["knowledge"], k=3, mode="bm25")
        assert before.chunks == []
        assert before.corrections == ()

        generation = store.get_metadata(GENERATION_KEY.format(collection="knowledge"))
        ingestor.ingest(PAGES, collection="knowledge", vocabulary=True)  # nothing re-embedded
        recorded = store.get_metadata(VOCABULARY_KEY.format(collection="knowledge"))
        assert recorded["pages"]["cataract"] == 2
        assert store.get_metadata(GENERATION_KEY.format(collection="knowledge")) != generation

        fresh = build_lumen(settings, embedder=embedder)
        fresh.__dict__["store"] = store  # one process holds the embedded index
        found = fresh.retriever.retrieve("catraact", collections=["knowledge"], k=3, mode="bm25")
        assert found.corrections == (("catraact", "cataract"),)
        assert found.query == "cataract"
        assert [c.chunk.doc_id for c in found.chunks][:1] == ["cataract"]

        # An unchanged re-ingest leaves the record (and the cached answers) alone.
        generation = store.get_metadata(GENERATION_KEY.format(collection="knowledge"))
        ingestor.ingest(PAGES, collection="knowledge", vocabulary=True)
        assert store.get_metadata(GENERATION_KEY.format(collection="knowledge")) == generation

        assert ingestor.delete_source("knowledge", "pages") == 3
        assert store.get_metadata(VOCABULARY_KEY.format(collection="knowledge")) == {}


def test_the_index_speller_learns_new_words_after_an_ingest(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    now = [0.0]
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    with build_lumen(settings, embedder=embedder) as lumen:
        spelling = IndexSpelling(
            lumen.store, english=lambda: ENGLISH, common_english=None, clock=lambda: now[0]
        )
        assert spelling.correct("catraact", ["knowledge"]).changes == ()
        lumen.ingestor.ingest(PAGES, collection="knowledge", vocabulary=True)
        # Within the recheck interval the old (empty) vocabulary is still used ...
        assert spelling.correct("catraact", ["knowledge"]).changes == ()
        now[0] += 31.0
        # ... then the new generation is noticed and the words read.
        assert spelling.correct("catraact", ["knowledge"]).text == "cataract"
        # Another collection's words are not this one's.
        assert spelling.correct("catraact", ["drugs"]).changes == ()
