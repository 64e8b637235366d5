from __future__ import annotations

import pytest

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.rag.verify import (
    Verifier,
    is_negated,
    opposite_direction,
    speaks_of_sources,
    strip_citation_marks,
)

from .helpers import GLAUCOMA, METFORMIN, retrieved


@pytest.fixture(scope="module")
def verifier(embedder):  # type: ignore[no-untyped-def]
    return Verifier(embedder, Bm25Encoder(), threshold=0.55)


@pytest.fixture(scope="module")
def evidence(verifier, embedder):  # type: ignore[no-untyped-def]
    query = embedder.embed(["How is glaucoma treated?"])[0]
    return verifier.gather(query, [GLAUCOMA, METFORMIN])


def test_supported_sentence_is_cited_to_its_source(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    checked = verifier.check(
        "Glaucoma is often treated with eye drops that lower eye pressure.", evidence
    )
    assert len(checked) == 1
    assert checked[0].supported
    assert checked[0].supports[0].chunk_index == 0
    assert "eye drops" in checked[0].supports[0].snippet


def test_planted_unsupported_sentence_is_dropped(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    answer = (
        "Treatment usually starts with prescription eye drops that lower the pressure in the eye "
        "[1]. "
        "Drinking green tea every morning cures glaucoma within a week [1]."
    )
    checked = verifier.check(answer, evidence)
    assert [c.supported for c in checked] == [True, False]
    assert checked[1].reason == "not supported by the sources"


def test_a_number_the_source_does_not_state_is_unsupported(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    right = verifier.check(
        "The usual starting dose of metformin is 500 mg twice a day with meals.", evidence
    )
    wrong = verifier.check(
        "The usual starting dose of metformin is 850 mg twice a day with meals.", evidence
    )
    assert right[0].supported
    assert right[0].supports[0].chunk_index == 1
    assert not wrong[0].supported


def test_a_sentence_about_what_the_sources_lack_is_not_a_claim(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    checked = verifier.check(
        "The treatment of glaucoma is not mentioned in the source [1]. "
        "Glaucoma is often treated with eye drops that lower eye pressure.",
        evidence,
    )
    assert [c.supported for c in checked] == [False, True]
    assert checked[0].reason == "speaks of the sources, not the question"


def test_a_lead_in_without_its_list_is_not_a_claim(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    checked = verifier.check(
        "Glaucoma is treated in several ways: [1]\nGlaucoma is often treated with eye drops "
        "that lower eye pressure.",
        evidence,
    )
    assert [c.supported for c in checked] == [False, True]
    assert checked[0].reason == "a lead-in, not a statement"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The symptoms of glaucoma are not mentioned in the source.", True),
        ("The context does not provide the dose.", True),
        ("The provided text doesn't say how long treatment lasts.", True),
        ("There is no information about children in these documents.", True),
        ("This type of source can be found in any document about the disease.", True),
        ("The text describes the treatment of glaucoma with eye drops.", True),
        ("These passages are about the side effects of metformin.", True),
        ("Source 2 says that eye drops lower the pressure in the eye.", True),
        ("The main source of vitamin D is sunlight on the skin.", False),
        ("These sources of fiber help lower cholesterol levels.", False),
        ("The context of care matters for people with dementia.", False),
        ("According to the sources, eye drops lower the pressure in the eye.", False),
        ("Glaucoma does not cause symptoms at first.", False),
        ("Metformin is not recommended for people with severe kidney disease.", False),
    ],
)
def test_speaks_of_sources(sentence: str, expected: bool) -> None:
    assert speaks_of_sources(sentence) is expected


def test_the_models_own_citation_marks_are_ignored(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    # The model cites [2] (metformin) for a glaucoma sentence: Lumen cites the glaucoma source.
    checked = verifier.check("Open-angle glaucoma is the most common form [2].", evidence)
    assert checked[0].text == "Open-angle glaucoma is the most common form."
    assert checked[0].supports[0].chunk_index == 0


def test_repeated_sentences_are_dropped(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    sentence = "Open-angle glaucoma is the most common form."
    checked = verifier.check(f"{sentence} {sentence} {sentence}", evidence)
    assert [c.supported for c in checked] == [True, False, False]


def test_extractive_answer_quotes_relevant_sentences(verifier, evidence, embedder) -> None:  # type: ignore[no-untyped-def]
    query = embedder.embed(["How is glaucoma treated?"])[0]
    extracted = verifier.extract("How is glaucoma treated?", query, evidence, count=3)
    assert len(extracted) == 3
    assert all(item.supports[0].chunk_index == 0 for item in extracted)
    assert any("eye drops" in item.text for item in extracted)


def test_relevance_separates_related_from_unrelated(verifier, embedder) -> None:  # type: ignore[no-untyped-def]
    related = verifier.gather(embedder.embed(["How is glaucoma treated?"])[0], [GLAUCOMA])
    unrelated = verifier.gather(
        embedder.embed(["Who won the 1998 football world cup?"])[0], [GLAUCOMA]
    )
    assert related.best_relevance > 0.5
    assert unrelated.best_relevance < 0.3


def test_strip_citation_marks() -> None:
    assert strip_citation_marks("Eye drops help [1][2]. More [3, 4].") == "Eye drops help. More."


def test_a_negated_claim_needs_a_negated_source(verifier, evidence, embedder) -> None:  # type: ignore[no-untyped-def]
    # SmolLM2's own draft for "Is glaucoma treated with eye drops?": the source says the opposite.
    flipped = verifier.check("No, glaucoma is not treated with eye drops [1][2].", evidence)
    assert not flipped[0].supported
    assert flipped[0].reason == "not supported by the sources"
    assert verifier.check("Glaucoma is treated with eye drops.", evidence)[0].supported
    aspirin = retrieved(
        "aspirin",
        "Aspirin is not recommended for children and teenagers who have a viral illness. "
        "It can cause Reye's syndrome, a rare but serious condition.",
        title="Aspirin",
    )
    query = embedder.embed(["Can children take aspirin?"])[0]
    negated_source = verifier.gather(query, [aspirin])
    agreeing = verifier.check(
        "Aspirin is not recommended for children who have a viral illness.", negated_source
    )
    assert agreeing[0].supported


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("No, glaucoma is not treated with eye drops.", True),
        ("Metformin doesn’t cause low blood sugar on its own.", True),
        ("There is no cure for glaucoma.", True),
        ("Treatment cannot restore lost vision.", True),
        ("Glaucoma is treated with eye drops.", False),
        ("Notably, the dose is 500 mg.", False),
    ],
)
def test_is_negated(sentence: str, expected: bool) -> None:
    assert is_negated(sentence) is expected


@pytest.mark.parametrize(
    ("claim", "source", "opposite"),
    [
        ("HbA1c increased with metformin.", "HbA1c decreased with metformin.", True),
        ("Mortality fell after the change.", "Mortality rose after the change.", True),
        ("Pain was reduced by the drug.", "Pain was lower with the drug.", False),
        ("HbA1c increased in one group.", "HbA1c rose in one group and fell in another.", False),
        ("Weight did not differ.", "HbA1c decreased with metformin.", False),
    ],
)
def test_opposite_direction(claim: str, source: str, opposite: bool) -> None:
    assert opposite_direction(claim, source) is opposite


def test_an_answer_that_restates_the_question_adds_no_terms(verifier) -> None:  # type: ignore[no-untyped-def]
    from lumen.rag.verify import CheckedSentence
    from lumen.settings import VerifySettings

    question = "What are the symptoms of Floating-Harbor syndrome?"
    needed = VerifySettings().min_new_terms

    def said(*texts: str) -> frozenset[str]:
        return verifier.new_terms([CheckedSentence(t, 0.9, True, ()) for t in texts], question)

    # What SmolLM2 wrote, and the verifier passed: it names no symptom.
    restated = said(
        "The symptoms of Floating-Harbor syndrome are the most common signs and symptoms."
    )
    assert len(restated) < needed
    answered = said(
        "Floating-Harbor syndrome causes short stature, delayed bone growth and a wide mouth."
    )
    assert len(answered) >= needed
    assert said() == frozenset()


def test_generated_sentences_must_be_in_their_sources_words(verifier, evidence) -> None:  # type: ignore[no-untyped-def]
    from lumen.rag.verify import CheckedSentence, Support

    def cited_to_glaucoma(text: str) -> CheckedSentence:
        return CheckedSentence(text, 0.95, True, (Support(0, 0.95, "x"),))

    in_its_words = cited_to_glaucoma("Glaucoma treatment usually starts with eye drops.")
    # What SmolLM2 wrote and the entailment model passed: its words are not the source's.
    invented = cited_to_glaucoma(
        "Glia tumors include ganglionic malformations, glioblastomas and glioblastoma multiforme."
    )
    kept = verifier.in_source_words([in_its_words, invented], evidence, max_unseen=0.3)
    assert kept == [in_its_words]
    # The same sentence cited to the metformin label uses words that label lacks.
    elsewhere = CheckedSentence(in_its_words.text, 0.95, True, (Support(1, 0.95, "y"),))
    assert verifier.in_source_words([elsewhere], evidence, max_unseen=0.3) == []
    assert verifier.in_source_words([invented], evidence, max_unseen=1.0) == [invented]
