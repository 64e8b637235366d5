"""Extractive answers that answer: real MedQuAD pages, the real embedder, Lumen's own citations."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.documents import Chunk
from lumen.ingest.chunking import Chunker
from lumen.ingest.loaders import get_loader
from lumen.rag.pipeline import _cite
from lumen.rag.retrieve import RetrievedChunk
from lumen.rag.select import quotable
from lumen.rag.verify import CheckedSentence, Support, Verifier, refers_back

from .helpers import retrieved

QUESTION = "What are the symptoms of glaucoma?"
# The NIHSeniorHealth glaucoma page and rare-disease pages that mention glaucoma, some of them
# with their questions written into their answers (GARD).
FILES = [
    "7_SeniorHealth_QA/0000027.xml",
    "2_GARD_QA/0002565.xml",
    "2_GARD_QA/0006046.xml",
    "3_GHR_QA/0000311.xml",
]


@pytest.fixture(scope="module")
def verifier(embedder):  # type: ignore[no-untyped-def]
    return Verifier(embedder, Bm25Encoder(), threshold=0.55)


@pytest.fixture(scope="module")
def chunks(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Chunk]:
    folder = tmp_path_factory.mktemp("glaucoma")
    for name in FILES:
        shutil.copy(shared_data / "medquad" / name, folder / name.replace("/", "-"))
    problems: list[tuple[Path, str]] = []
    docs = list(
        get_loader("medquad").load(
            folder, collection="knowledge", report=lambda p, m: problems.append((p, m))
        )
    )
    assert not problems
    assert len(docs) == len(FILES)
    chunker = Chunker.for_minilm()
    return [chunk for doc in docs for chunk in chunker.chunk(doc)]


def _as_retrieved(chunks: list[Chunk], embedder, question: str, k: int) -> list[RetrievedChunk]:  # type: ignore[no-untyped-def]
    """The chunks closest to the question by cosine, as retrieval would hand them on."""
    query = embedder.embed([question])[0]
    scores = embedder.embed([c.embed_text for c in chunks]) @ query
    order = sorted(range(len(chunks)), key=lambda i: float(scores[i]), reverse=True)[:k]
    return [RetrievedChunk(chunks[i], float(scores[i]), float(scores[i])) for i in order]


def test_the_glaucoma_answer_names_symptoms_without_questions_or_repeated_pages(
    verifier, embedder, chunks
) -> None:  # type: ignore[no-untyped-def]
    hits = _as_retrieved(chunks, embedder, QUESTION, 8)
    assert len({h.chunk.url for h in hits}) < len(hits)  # some pages give several chunks
    query = embedder.embed([QUESTION])[0]
    evidence = verifier.gather(query, hits)
    quoted = verifier.extract(QUESTION, query, evidence, count=3)
    assert len(quoted) == 3
    for sentence in quoted:
        assert quotable(sentence.text), sentence.text
        assert not sentence.text.rstrip().endswith("?")
        assert "Symptoms of Glaucoma" not in sentence.text
    text = " ".join(s.text for s in quoted).lower()
    assert "vision" in text  # a symptom, not only "has no symptoms at first"
    sentences, citations = _cite(quoted, evidence)
    urls = [c.url for c in citations]
    assert len(urls) == len(set(urls))
    assert [c.n for c in citations] == list(range(1, len(citations) + 1))
    for sentence in sentences:
        assert sentence.citations
        assert len(sentence.citations) == len(set(sentence.citations))


def test_extract_skips_questions_and_fused_headings_in_source_text(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # Text as MedQuAD's answers were indexed before the loader kept headings apart.
    page = retrieved(
        "old",
        "What are the signs and symptoms of Glaucoma? Symptoms of Glaucoma Glaucoma can "
        "develop in one or both eyes. What causes glaucoma in older adults? Without treatment, "
        "people with glaucoma slowly lose their side vision. Click here to watch the video "
        "about the symptoms of glaucoma.",
        title="Glaucoma",
    )
    query = embedder.embed([QUESTION])[0]
    evidence = verifier.gather(query, [page])
    quoted = [s.text for s in verifier.extract(QUESTION, query, evidence, count=5)]
    assert quoted == [
        "Glaucoma can develop in one or both eyes.",
        "Without treatment, people with glaucoma slowly lose their side vision.",
    ]


def test_citations_are_one_per_page(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    first = retrieved("a", "Glaucoma can develop in one or both eyes without any pain at first.")
    later = "Without treatment, people with glaucoma slowly lose their side vision."
    second = RetrievedChunk(replace(first.chunk, id="a#1", position=1, text=later), 0.4)
    other = retrieved("b", "Glaucoma is a leading cause of blindness in people over sixty years.")
    query = embedder.embed([QUESTION])[0]
    evidence = verifier.gather(query, [first, other, second])
    # Sentence 1 is supported by both chunks of page a, sentence 2 by the second one and b.
    checked = [
        CheckedSentence("One.", 0.9, True, (Support(0, 0.9, "x"), Support(2, 0.8, "y"))),
        CheckedSentence("Two.", 0.9, True, (Support(2, 0.95, "z"), Support(1, 0.7, "w"))),
        CheckedSentence("Three.", 0.9, True, (Support(1, 0.9, "v"),)),
    ]
    sentences, citations = _cite(checked, evidence)
    assert [c.url for c in citations] == ["https://example.org/a", "https://example.org/b"]
    assert citations[0].supports == [0, 1]  # both chunks of page a, merged
    assert citations[0].snippet == "z"
    assert citations[0].chunk_id == "a#1"
    assert citations[1].supports == [1, 2]
    assert [s.citations for s in sentences] == [[1], [1, 2], [2]]


def test_extract_leans_on_the_retrieval_rank(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # Two pages that answer about equally well: the one retrieval ranked first is quoted first,
    # whichever it is (a chatty question's cosine to one sentence is the noisier signal).
    question = "hi, my dad was just told he has glaucoma and we're worried, what does it do"
    a = retrieved(
        "a", "Glaucoma often has no early symptoms, and vision loss begins at the edges of sight."
    )
    b = retrieved(
        "b", "Open-angle glaucoma usually causes no symptoms at first, then side vision fades."
    )
    query = embedder.embed([question])[0]
    for ranked in ([a, b], [b, a]):
        evidence = verifier.gather(query, ranked)
        quoted = verifier.extract(question, query, evidence, count=1)
        _, citations = _cite(quoted, evidence)
        assert citations[0].url == ranked[0].chunk.url


FH_QUESTION = "What are the symptoms of Floating-Harbor syndrome?"
FH_MOST_COMMON = (
    "The most common signs and symptoms of Floating-Harbor syndrome, seen in about 90% of "
    "people: Short stature; Delayed skeletal maturation; Short neck; Wide mouth."
)


def _section_chunk(doc: str, position: int, text: str) -> RetrievedChunk:
    chunk = retrieved(doc, text).chunk
    chunk = replace(
        chunk, id=f"{doc}#{position}", section="symptoms", position=position, n_chunks=2
    )
    return RetrievedChunk(chunk, 0.5)


def _floating_harbor(embedder, second_row: str):  # type: ignore[no-untyped-def]
    """The question's vector and two rows of the syndrome's symptom table, two chunks."""
    query = embedder.embed([FH_QUESTION])[0]
    return query, _section_chunk("fh", 0, FH_MOST_COMMON), _section_chunk("fh", 1, second_row)


def test_chunks_of_one_section_share_its_rank(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # A long symptom table spans two chunks of one section; retrieval's order between them is
    # noise, so the sentence that answers best is quoted first whichever chunk ranked first.
    question = FH_QUESTION
    query, common, rare = _floating_harbor(
        embedder,
        "Signs and symptoms of Floating-Harbor syndrome seen in about 5% of people: "
        "Coarctation of aorta; Hypospadias.",
    )
    for ranked in ([common, rare], [rare, common]):
        evidence = verifier.gather(query, ranked)
        assert verifier.extract(question, query, evidence, count=1)[0].text.startswith(
            "The most common"
        )


def test_another_page_is_quoted_only_when_it_matches_as_well(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    question = "What are the symptoms of Saccharopinuria?"
    asked = retrieved(
        "saccharopinuria",
        "Signs and symptoms of Saccharopinuria: Autosomal recessive inheritance; EEG "
        "abnormality; Histidinuria; Hyperlysinuria; Intellectual disability; Short stature.",
    )
    other = retrieved(
        "hawkinsinuria",
        "The most common signs and symptoms of Hawkinsinuria, seen in about 90% of people: "
        "Abnormal hair quantity; Fine hair.",
    )
    query = embedder.embed([question])[0]
    evidence = verifier.gather(query, [asked, other])
    quoted = verifier.extract(question, query, evidence, count=3)
    _, citations = _cite(quoted, evidence)
    assert [c.url for c in citations] == ["https://example.org/saccharopinuria"]
    # Pages that match about equally well are both quoted (test above: either may come first).
    a = retrieved("a", "Glaucoma often has no early symptoms, and vision loss starts at the edges.")
    b = retrieved("b", "Open-angle glaucoma usually causes no symptoms at first, then side vision.")
    query = embedder.embed([QUESTION])[0]
    evidence = verifier.gather(query, [a, b])
    _, citations = _cite(verifier.extract(QUESTION, query, evidence, count=2), evidence)
    assert len(citations) == 2


def test_a_generated_answer_must_open_from_the_best_page(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    from lumen.rag.pipeline import _rests_on_best_page

    best = retrieved("a", "Glaucoma can develop in one or both eyes without any pain at first.")
    other = retrieved("b", "Glaucoma is a leading cause of blindness in people over sixty years.")
    query = embedder.embed([QUESTION])[0]
    evidence = verifier.gather(query, [best, other])

    def sentence(*chunks: int) -> CheckedSentence:
        supports = tuple(Support(c, 0.9 - 0.1 * n, "x") for n, c in enumerate(chunks))
        return CheckedSentence("A claim.", 0.9, True, supports)

    assert _rests_on_best_page([sentence(0)], evidence)
    assert _rests_on_best_page([sentence(1, 0)], evidence)  # the best page supports it too
    assert not _rests_on_best_page([sentence(1), sentence(0)], evidence)  # opens elsewhere
    assert not _rests_on_best_page([], evidence)
    # Pages of one sentence are numbered in retrieval order, not by score.
    _, citations = _cite([sentence(1, 0)], evidence)
    assert [c.url for c in citations] == ["https://example.org/a", "https://example.org/b"]


def test_rows_of_one_symptom_table_are_not_repeats(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # Two frequency groups share their frame word for word, so they sit close in meaning; what
    # they list differs, so both are quoted. A sentence that says the same again is not.
    question = FH_QUESTION
    query, common, half = _floating_harbor(
        embedder,
        "Signs and symptoms of Floating-Harbor syndrome seen in about 50% of people: "
        "Coarctation of aorta; Hypospadias; Clinodactyly of the fifth finger.",
    )
    evidence = verifier.gather(query, [common, half])
    assert float(evidence.vectors[0] @ evidence.vectors[1]) >= 0.85  # close in meaning
    quoted = [s.text for s in verifier.extract(question, query, evidence, count=3)]
    assert len(quoted) == 2
    assert quoted[0].startswith("The most common")
    assert quoted[1].startswith("Signs and")
    again = retrieved("copy", FH_MOST_COMMON.replace("Short neck", "a short neck"))
    evidence = verifier.gather(query, [common, again])
    assert len(verifier.extract(question, query, evidence, count=3)) == 1


def test_a_quoted_list_item_carries_its_lead_in(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # "The stage of the cancer." alone does not say what it is an item of.
    question = "what is the survival rate for pancreatic cancer"
    page = retrieved(
        "pancreatic",
        "Pancreatic cancer is a disease in which malignant cells form in the pancreas.\n"
        "The prognosis (chance of recovery) of pancreatic cancer depends on the following:\n"
        "- Whether or not the tumor can be removed by surgery.\n"
        "- The stage of the cancer (the size of the tumor and whether it has spread).\n"
        "- The patient's general health.",
        title="Pancreatic Cancer",
    )
    query = embedder.embed([question])[0]
    evidence = verifier.gather(query, [page])
    quoted = [s.text for s in verifier.extract(question, query, evidence, count=3)]
    lead_in = "The prognosis (chance of recovery) of pancreatic cancer depends on the following:"
    items = ("Whether or not the tumor", "The stage of the cancer", "The patient's general")
    with_items = [q for q in quoted if any(item in q for item in items)]
    assert with_items
    assert with_items[0].startswith(f"{lead_in} ")  # the first item quoted carries it
    assert sum(q.count(lead_in) for q in quoted) == 1  # once, not before every item
    assert all(quotable(q) for q in quoted), quoted


def test_a_quote_that_refers_back_opens_with_the_sentence_before(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    # "They" alone would leave the reader guessing what is meant.
    question = "what do gallstones do, do they cause pain"
    page = retrieved(
        "gallstones",
        "Gallstones are hard pieces of stone-like material that form in the gallbladder. "
        "They can cause sudden pain in the upper right abdomen, called a gallbladder attack. "
        "Surgery to remove the gallbladder is the most common treatment.",
        title="Gallstones",
    )
    query = embedder.embed([question])[0]
    evidence = verifier.gather(query, [page])
    best = verifier.extract(question, query, evidence, count=1)
    assert [s.text for s in best] == [
        "Gallstones are hard pieces of stone-like material that form in the gallbladder."
    ]
    two = verifier.extract(question, query, evidence, count=2)
    assert two[1].text.startswith("They can cause sudden pain")
    assert two[1].score > two[0].score  # the best match, read after what it refers to


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("It causes no pain, and vision seems normal.", True),
        ("These symptoms usually start in childhood.", True),
        ('"They" may also spread.', True),
        ("Itching is common.", False),
        ("The condition is rare.", False),
        ("Thesis statements are not medical advice.", False),
    ],
)
def test_openers_that_refer_back(sentence: str, expected: bool) -> None:
    assert refers_back(sentence) is expected
