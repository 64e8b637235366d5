"""Metric functions on hand-made cases with known values."""

from __future__ import annotations

import math

import pytest

from lumen_lab.eval import metrics
from lumen_lab.eval.registry import get_metric
from lumen_lab.eval.schema import ItemRecord


def test_accuracy() -> None:
    assert metrics.accuracy(["A", "B", "C", "D"], ["A", "B", "D", "D"]) == 0.75
    assert metrics.accuracy([], []) == 0.0
    with pytest.raises(ValueError, match="length"):
        metrics.accuracy(["A"], [])


def test_macro_f1_known_value() -> None:
    # yes: tp=2 fp=1 fn=0 -> 0.8; no: tp=1 fp=0 fn=1 -> 2/3; maybe: tp=0 fp=0 fn=1 -> 0
    targets = ["yes", "yes", "no", "no", "maybe"]
    predictions = ["yes", "yes", "no", "yes", None]
    assert metrics.macro_f1(predictions, targets) == pytest.approx((0.8 + 2 / 3 + 0) / 3)
    assert metrics.macro_f1(["a", "b"], ["a", "b"]) == 1.0


def test_ranking_metrics() -> None:
    qrels = {"d1": 1, "d3": 2}
    ranked = ["d2", "d1", "d4", "d3"]
    assert metrics.recall_at_k(ranked, qrels, 1) == 0.0
    assert metrics.recall_at_k(ranked, qrels, 2) == 0.5
    assert metrics.recall_at_k(ranked, qrels, 4) == 1.0
    assert metrics.reciprocal_rank(ranked, qrels) == 0.5
    assert metrics.reciprocal_rank(ranked, qrels, k=1) == 0.0
    assert metrics.reciprocal_rank(["x"], qrels) == 0.0
    dcg = 1 / math.log2(3) + 2 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert metrics.ndcg_at_k(ranked, qrels, 10) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k(["d3", "d1"], qrels, 10) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(ranked, {}, 10) == 0.0


def test_text_overlap() -> None:
    assert metrics.token_f1("The cat sat [1].", "a cat sat") == 1.0
    # prediction: cat sat mat (3), reference: cat sat on (3), overlap 2 -> P=R=2/3
    assert metrics.token_f1("cat sat mat", "cat sat on") == pytest.approx(2 / 3)
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("x", "") == 0.0
    # LCS of "police killed gunman" / "police kill the gunman" (article dropped) = 2 of 3/3
    assert metrics.rouge_l("police killed the gunman", "police kill the gunman") == pytest.approx(
        2 / 3
    )
    assert metrics.rouge_l("a b c d", "a b c d") == 1.0
    assert metrics.rouge_l("a", "b") == 0.0


def test_percentiles() -> None:
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([5], 95) == 5
    summary = metrics.latency_summary([10.0, 20.0, 30.0])
    assert summary == {"mean": 20.0, "p50": 20.0, "p90": 28.0, "p95": 29.0, "max": 30.0}


def _record(
    values: dict[str, float], prediction: str | None = None, target: str = ""
) -> ItemRecord:
    return ItemRecord(
        task="t", condition="c", item_id="i", values=values, prediction=prediction, target=target
    )


def test_registry_metrics_aggregate() -> None:
    records = [_record({"accuracy": 1.0}, "yes", "yes"), _record({"accuracy": 0.0}, "no", "yes")]
    assert get_metric("accuracy").aggregate(records) == 0.5
    assert get_metric("macro_f1").aggregate(records) == pytest.approx((2 / 3 + 0) / 2)
    assert get_metric("recall@7").aggregate([_record({"recall@7": 1.0})]) == 1.0
    assert get_metric("token_f1").aggregate(records) is None
