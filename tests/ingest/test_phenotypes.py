"""GARD's flattened symptom tables rendered as sentences, on real MedQuAD files."""

from __future__ import annotations

from pathlib import Path

from lumen.ingest.loaders.medquad import parse_file
from lumen.ingest.loaders.phenotypes import (
    ROWS_PER_SENTENCE,
    phenotype_rows,
    render_phenotype_tables,
)
from lumen.rag.select import quotable
from lumen.textutil import split_sentences


def _symptoms(sources_dir: Path, name: str) -> tuple[str, str]:
    parsed = parse_file(sources_dir / "medquad" / "2_GARD_QA" / name)
    pair = next(p for p in parsed.pairs if "symptoms" in p.question.lower())
    return pair.answer, pair.body


def test_a_table_becomes_quotable_sentences_naming_the_condition(sources_dir: Path) -> None:
    raw, body = _symptoms(sources_dir, "0002391.xml")  # Floating-Harbor syndrome
    assert "Orphanet" in raw
    assert "Short neck 90%" in raw
    sentences = split_sentences(body)
    for boilerplate in ("Orphanet", "Human Phenotype Ontology", "MedlinePlus", "table below"):
        assert boilerplate not in body
    assert body.startswith(
        "The most common signs and symptoms of Floating-Harbor syndrome, seen in about 90% of "
        "people: Abnormality of the eyelashes; Abnormality of the voice;"
    )
    assert "Signs and symptoms of Floating-Harbor syndrome seen in about 50% of people: " in body
    assert sum("most common" in sentence for sentence in sentences) == 1  # 14 rows: one sentence
    assert all(quotable(sentence) for sentence in sentences), sentences
    assert all("Floating-Harbor syndrome" in sentence for sentence in sentences)
    # every row is kept, once, in the table's order
    rows = [sign for sentence in sentences for sign in sentence.split(": ", 1)[1][:-1].split("; ")]
    assert rows[:3] == [
        "Abnormality of the eyelashes",
        "Abnormality of the voice",
        "Abnormality of thumb phalanx",
    ]
    assert "Low-set, posteriorly rotated ears" in rows
    assert len(rows) == len(set(rows)) > 40
    assert all(s.count("; ") < ROWS_PER_SENTENCE for s in sentences)
    assert any("about 7.5% of people" in s for s in sentences)
    # study counts: the highest share is the most common, whatever its order in the table
    counts = render_phenotype_tables(
        "The Human Phenotype Ontology provides the following list of signs and symptoms for "
        "X syndrome. If the information is available, the table below includes how often the "
        "symptom is seen in people with this condition. You can use the MedlinePlus Medical "
        "Dictionary to look up the definitions for these medical terms. Signs and Symptoms "
        "Approximate number of patients (when available) Ptosis 1/4 Macrocephaly 3 of 4 Tall - "
        "The Human Phenotype Ontology (HPO) has collected information on how often a sign or "
        "symptom occurs in a condition. In these cases, the sign or symptom may be rare or common."
    )
    assert counts.split("\n")[1:4] == [
        "Signs and symptoms of X syndrome seen in 1 of 4 people in one study: Ptosis.",
        "The most common signs and symptoms of X syndrome, seen in 3 of 4 people in one study: "
        "Macrocephaly.",
        "Other signs and symptoms of X syndrome (how often is not known): Tall.",
    ]


def test_rows_without_frequencies_and_study_counts(sources_dir: Path) -> None:
    _, body = _symptoms(sources_dir, "0000004.xml")  # ABCD syndrome: no frequencies known
    assert body.startswith("Signs and symptoms of ABCD syndrome: Abnormal auditory evoked")
    assert "Albinism" in body
    assert " - " not in body
    rows = phenotype_rows("Hypertrophic cardiomyopathy 3 of 4 Macrocephaly 3/4 Ptosis 5% Tall -")
    assert rows == [
        ("Hypertrophic cardiomyopathy", "3 of 4"),
        ("Macrocephaly", "3/4"),
        ("Ptosis", "5%"),
        ("Tall", "-"),
    ]


def test_a_long_group_is_split_evenly() -> None:
    rows = " ".join(f"Sign{i} 90%" for i in range(25))
    text = render_phenotype_tables(
        "The Human Phenotype Ontology provides the following list of signs and symptoms for "
        "X syndrome. If the information is available, the table below includes how often the "
        "symptom is seen in people with this condition. You can use the MedlinePlus Medical "
        "Dictionary to look up the definitions for these medical terms. Signs and Symptoms "
        f"Approximate number of patients (when available) {rows} "
        "The Human Phenotype Ontology (HPO) has collected information on how often a sign or "
        "symptom occurs in a condition. In these cases, the sign or symptom may be rare or common."
    )
    sentences = split_sentences(text)
    assert [s.count(";") + 1 for s in sentences] == [13, 12]
    assert sentences[1].endswith("Sign24.")


def test_text_without_a_table_is_unchanged() -> None:
    text = "Floating-Harbor syndrome is rare. It causes short stature 90% of the time."
    assert render_phenotype_tables(text) == text
