"""MedQuAD answers as indexed: inline headings on their own lines, no restated question."""

from __future__ import annotations

from pathlib import Path

from lumen.ingest.loaders.medquad import answer_body, parse_file
from lumen.textutil import split_sentences


def test_inline_headings_get_their_own_line(sources_dir: Path) -> None:
    parsed = parse_file(sources_dir / "medquad" / "7_SeniorHealth_QA" / "0000027.xml")
    symptoms = next(p for p in parsed.pairs if p.qid == "0000027-3")
    assert symptoms.body.startswith(
        "Symptoms of Glaucoma\nGlaucoma can develop in one or both eyes."
    )
    sentences = split_sentences(symptoms.body)
    assert sentences[0] == "Symptoms of Glaucoma"
    assert not any("Glaucoma Glaucoma" in sentence for sentence in sentences)
    # The answer kept for evaluation and training is unchanged.
    assert symptoms.answer.startswith("Symptoms of Glaucoma Glaucoma can develop")


def test_a_restated_question_is_not_answer_text(sources_dir: Path) -> None:
    parsed = parse_file(sources_dir / "medquad" / "2_GARD_QA" / "0002565.xml")
    for pair in parsed.pairs:
        first = split_sentences(pair.body)[0]
        assert not first.endswith("?"), first
    assert any(p.answer.startswith("What are the signs and symptoms of") for p in parsed.pairs)


def test_answer_body_keeps_questions_that_are_not_the_pairs() -> None:
    raw = "Have you ever felt dizzy?  Dizziness has many causes. See your doctor."
    body = answer_body(raw, question="What is (are) Balance Problems ?", focus="Balance Problems")
    assert body.startswith("Have you ever felt dizzy?")
    restated = "How might aniridia be treated? Treatment focuses on regular eye exams."
    assert answer_body(
        restated, question="What are the treatments for Aniridia ?", focus="Aniridia"
    ) == ("Treatment focuses on regular eye exams.")


def test_a_bibliography_is_not_answer_text(sources_dir: Path) -> None:
    # NINDS's Menkes disease research answer ends with three numbered references.
    parsed = parse_file(sources_dir / "medquad" / "6_NINDS_QA" / "0000191.xml")
    research = next(p for p in parsed.pairs if "research" in p.question.lower())
    assert "Nature Reviews Neurology" in research.answer  # kept for evaluation and training
    assert "Kaler" not in research.body
    assert "emerging concepts" not in research.body
    assert research.body.startswith("Recent research sponsored by the NINDS")
    assert "gene therapy approaches to Menkes disease" in research.body
    # A numbered list item that is no reference stays.
    body = answer_body(
        "Steps:  1. Rest the leg in 2019 style.  2. Ice it.", question="q", focus="f"
    )
    assert "Rest the leg" in body
