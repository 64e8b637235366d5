"""The grounding report runs real answers through Verifier.gather/check and writes JSON + PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.rag.entailment import EntailmentModel
from lumen.rag.verify import Verifier
from lumen_lab.verifier.data import REALISTIC_KINDS, build_dataset, load_items
from lumen_lab.verifier.evaluate import answers_from_pairs, auroc, evaluate


def test_auroc() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5], [0.5]) == 0.5


def test_the_report_covers_true_and_hallucinated_answers(  # type: ignore[no-untyped-def]
    shared_data: Path, embedder, verifier_export, tmp_path: Path
) -> None:
    dataset = build_dataset(shared_data, tmp_path, medquad_docs=0, llm_items=0)
    keep = set(dataset.splits.dev[:3])
    pairs = [p for p in dataset.dev if p.group in keep]
    questions = {i.pmid: i.question for i in load_items(shared_data)}
    answers = answers_from_pairs(pairs, questions)
    assert {a.kind for a in answers} >= {"true", "verdict_flip", "other_abstract"}
    assert {a.kind for a in answers} - {"true"} <= set(REALISTIC_KINDS)
    out = tmp_path / "dev.json"
    report = evaluate(
        pairs,
        questions,
        {
            "entailment": Verifier(
                embedder, Bm25Encoder(), entailment=EntailmentModel(verifier_export[1])
            ),
            "lexical": Verifier(embedder, Bm25Encoder()),
        },
        embedder,
        out,
        out.with_suffix(".png"),
    )
    assert json.loads(out.read_text())["items"] == 3
    assert out.with_suffix(".png").stat().st_size > 1000
    for scorer in ("entailment", "lexical"):
        overall = report["scorers"][scorer]["overall"]
        assert overall["true_answers"] == 3
        assert overall["hallucinated_answers"] > 3
        assert 0.0 <= overall["auroc_mean_score"] <= 1.0


@pytest.mark.parametrize("kind", ["true_sentence", "copied_result", "medquad_sentence"])
def test_positive_kinds_are_not_reported_as_hallucinations(kind: str) -> None:
    assert kind not in REALISTIC_KINDS
