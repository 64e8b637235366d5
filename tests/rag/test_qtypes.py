"""The shipped question-type model: what a question asks, read from its MiniLM vector."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lumen.factory import build_lumen
from lumen.rag.qtypes import QuestionTypes, QuestionTypesError, default_model_path
from lumen.settings import Settings


@pytest.fixture(scope="module")
def types() -> QuestionTypes:
    return QuestionTypes.load()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the outlook for people with ALS?", "outlook"),
        ("how is asthma treated", "treatment"),
        ("Is Huntington disease inherited?", "inheritance"),
        ("what are the early signs of alzheimers", "symptoms"),
        ("How many people get cystic fibrosis?", "frequency"),
        ("what test tells if i have celiac disease", "exams and tests"),
    ],
)
def test_questions_get_the_type_they_ask(
    types: QuestionTypes,
    embedder,  # type: ignore[no-untyped-def]
    question: str,
    expected: str,
) -> None:
    probabilities = types.probabilities(embedder.embed([question]))[0]
    assert types.types[int(np.argmax(probabilities))] == expected
    assert probabilities.sum() == pytest.approx(1.0)


def test_agreement_prefers_the_heading_of_the_same_type(types: QuestionTypes, embedder) -> None:  # type: ignore[no-untyped-def]
    question = embedder.embed(["my dad has ALS, how long do people live with it?"])[0]
    headings = embedder.embed(
        ["what is the prognosis for ALS ?", "is there any treatment for ALS ?"]
    )
    prognosis, treatment = types.agreement(question, headings)
    assert prognosis > treatment


def test_the_model_records_how_it_was_trained(types: QuestionTypes, embedder) -> None:  # type: ignore[no-untyped-def]
    assert types.accepts(embedder.identity)
    assert not types.accepts("some-other-model/dim384")
    assert types.training["held_out_accuracy"] >= 0.9
    assert types.training["dev_share"] > 0  # held-out documents were left out of training


def _broken(tmp_path: Path, edit: str) -> Path:
    path = tmp_path / "question_types.json"
    shutil.copy(default_model_path(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if edit == "tamper":
        data["model"]["intercept"][0] += 1.0
    elif edit == "format":
        data["format"] = "something-else"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit", ["tamper", "format"])
def test_an_altered_model_fails_closed(tmp_path: Path, edit: str) -> None:
    with pytest.raises(QuestionTypesError):
        QuestionTypes.load(_broken(tmp_path, edit))


def test_a_missing_model_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(QuestionTypesError):
        QuestionTypes.load(tmp_path / "absent.json")


def test_retrieval_is_not_built_with_a_foreign_model(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    foreign = QuestionTypes.load()
    foreign = QuestionTypes(foreign.model, "another-embedder/dim384", foreign.training)
    monkeypatch.setattr(QuestionTypes, "load", classmethod(lambda cls, path=None: foreign))
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    with build_lumen(settings, embedder=embedder) as lumen, pytest.raises(QuestionTypesError):
        _ = lumen.retriever
    off = Settings(paths={"data_dir": tmp_path / "off"}, retrieval={"heading_type_weight": 0})
    with build_lumen(off, embedder=embedder) as lumen:
        assert lumen.retriever is not None
