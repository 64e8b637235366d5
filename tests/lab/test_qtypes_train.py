"""Training the question-type model: held-out documents stay out, runs repeat exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lumen.ingest.loaders.medquad import QAPair
from lumen.rag.qtypes import QuestionTypes
from lumen_lab.retrieval.qtypes import masked, train_question_types, training_texts


def _pair(question: str, qtype: str, focus: str = "Glaucoma") -> QAPair:
    return QAPair(
        file_name="f.xml",
        qid="q",
        question=question,
        answer="a",
        url="u",
        doc_id="d",
        qtype=qtype,
        focus=focus,
    )


def test_questions_are_learnt_as_written_and_with_the_condition_masked() -> None:
    assert masked(_pair("What are the symptoms of Glaucoma ?", "symptoms")) == (
        "What are the symptoms of it ?"
    )
    assert masked(_pair("What causes it?", "causes")) is None
    many = [_pair("What are the symptoms of Glaucoma ?", "symptoms")] * 20
    rare = [_pair("Where can I find support for Glaucoma ?", "support groups")]
    texts, types = training_texts(many + rare)
    assert set(types) == {"symptoms"}  # a type with fewer than 20 questions is left out
    assert len(texts) == 40


def test_training_writes_a_model_that_loads_and_repeats(
    shared_data: Path,
    embedder,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    first = train_question_types(shared_data / "medquad", embedder, tmp_path / "a.json", limit=300)
    train_question_types(shared_data / "medquad", embedder, tmp_path / "b.json", limit=300)
    a, b = QuestionTypes.load(tmp_path / "a.json"), QuestionTypes.load(tmp_path / "b.json")
    np.testing.assert_allclose(a.model.coef, b.model.coef)
    assert first["training_pairs"] == 300
    assert first["held_out_questions"] > 1000
    assert first["held_out_accuracy"] > 0.5
    assert json.loads((tmp_path / "a.json").read_text())["embedder_identity"] == embedder.identity
