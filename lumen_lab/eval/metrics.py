"""Metric functions (pure, on plain values) and the built-in metrics of the registry."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence

from lumen_lab.eval.registry import Metric, corpus_metric, mean_metric, register_metric
from lumen_lab.eval.schema import ItemRecord

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION = re.compile(r"\[\d+(?:\s*[,-]\s*\d+)*\]")
_PUNCT = str.maketrans(dict.fromkeys(string.punctuation, " "))


# --- classification -------------------------------------------------------------------------


def accuracy(predictions: Sequence[object], targets: Sequence[object]) -> float:
    """Share of predictions equal to their target."""
    if len(predictions) != len(targets):
        raise ValueError("predictions and targets differ in length")
    if not targets:
        return 0.0
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


def macro_f1(
    predictions: Sequence[object],
    targets: Sequence[object],
    labels: Iterable[object] | None = None,
) -> float:
    """F1 averaged over labels (default: every label among targets and predictions).

    Like scikit-learn's ``f1_score(average="macro")``: a label never predicted and never true
    is left out; a missing prediction (``None``) counts as wrong for its target's label.
    """
    if len(predictions) != len(targets):
        raise ValueError("predictions and targets differ in length")
    if labels is None:
        labels = set(targets) | {p for p in predictions if p is not None}
    scores = []
    for label in labels:
        tp = sum(p == label and t == label for p, t in zip(predictions, targets, strict=True))
        fp = sum(p == label and t != label for p, t in zip(predictions, targets, strict=True))
        fn = sum(p != label and t == label for p, t in zip(predictions, targets, strict=True))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


# --- ranking ---------------------------------------------------------------------------------


def _relevant(qrels: Mapping[str, int]) -> set[str]:
    return {doc for doc, rel in qrels.items() if rel > 0}


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], qrels: Mapping[str, int], k: int | None = None) -> float:
    """1 / rank of the first relevant document (0 when none is in the top ``k``)."""
    relevant = _relevant(qrels)
    for rank, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gain (trec_eval): sum rel_i / log2(i + 1), over the ideal ordering."""
    dcg = sum(
        max(qrels.get(doc, 0), 0) / math.log2(rank + 1)
        for rank, doc in enumerate(ranked[:k], start=1)
    )
    ideal = sorted((rel for rel in qrels.values() if rel > 0), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 1) for rank, rel in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


# --- text overlap ----------------------------------------------------------------------------


def normalize_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: lower case, no citation marks, punctuation or articles."""
    text = _CITATION.sub(" ", text.lower()).translate(_PUNCT)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (bag of normalised tokens)."""
    pred = normalize_tokens(prediction)
    ref = normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common: dict[str, int] = {}
    counts: dict[str, int] = {}
    for token in ref:
        counts[token] = counts.get(token, 0) + 1
    for token in pred:
        if counts.get(token, 0) > 0:
            counts[token] -= 1
            common[token] = common.get(token, 0) + 1
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1) over normalised tokens."""
    pred = normalize_tokens(prediction)
    ref = normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


# --- summaries -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by linear interpolation (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, median, p90, p95 and maximum, rounded to 0.1 ms."""
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "mean": round(sum(values) / len(values), 1),
        "p50": round(percentile(values, 50), 1),
        "p90": round(percentile(values, 90), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1),
    }


# --- registry entries ------------------------------------------------------------------------


def _macro_f1(records: Sequence[ItemRecord]) -> float | None:
    if not records:
        return None
    return macro_f1([r.prediction for r in records], [r.target for r in records])


def register_builtin_metrics() -> None:
    """Register the metrics that the built-in tasks declare."""
    builtin: list[Metric] = [
        mean_metric("accuracy", "Share of items answered correctly."),
        mean_metric(
            "acc_norm",
            "Accuracy when option log-likelihoods are divided by the option's length in bytes.",
        ),
        mean_metric("unparsed", "Share of generated answers that named no option.", False),
        mean_metric(
            "gold_doc_in_context",
            "Share of RAG prompts showing an article the item names as its source (PMID).",
        ),
        corpus_metric("macro_f1", "F1 averaged over the labels (scikit-learn macro).", _macro_f1),
        mean_metric("mrr", "Mean reciprocal rank of the first relevant document."),
        mean_metric(
            "sentence_support",
            "Share of the model's draft sentences that Lumen's verifier found supported.",
        ),
        mean_metric("cited_sentences", "Share of answer sentences with at least one citation."),
        mean_metric("citation_validity", "Share of citations that point at a retrieved chunk."),
        mean_metric("abstention_rate", "Share of questions Lumen declined to answer.", False),
        mean_metric("extractive_rate", "Share of answers quoted instead of generated.", False),
        mean_metric("token_f1", "Token F1 of the answer against the reference answer."),
        mean_metric("rouge_l", "ROUGE-L F-measure of the answer against the reference answer."),
        mean_metric(
            "reference_cited", "Share of answers citing the reference answer's own document."
        ),
    ]
    for metric in builtin:
        register_metric(metric, replace=True)
