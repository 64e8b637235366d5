"""Verdict calibration: one offset per yes/no/maybe label, fitted on the validation split.

A small model's verdicts follow a skewed prior: it says "maybe" far less often than the
evidence is mixed. Adding a fixed offset to each label's log-likelihood before taking the best
corrects that prior without retraining. The offsets are fitted on the validation split (never
the test split), with every label counting the same however rare it is: either to maximise
macro-F1 (ties go to the higher accuracy, then to the smaller offsets) or to maximise the
label-balanced log-likelihood of the gold labels. "yes" is the reference (offset 0).

At answer time the same offsets become a bias on the answer's first token
(:class:`lumen.components.llm.base.GenerationParams.opening_bias`), which shifts greedy
decoding between the verdict words exactly as it shifts the log-likelihood reading.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Offsets tried for each non-reference label: -6 to +6 nats in steps of 0.25.
GRID = tuple(step / 4 for step in range(-24, 25))


def predict(logprobs: Mapping[str, float], offsets: Mapping[str, float]) -> str:
    """The label with the highest offset log-likelihood (first label wins ties)."""
    return max(logprobs, key=lambda label: logprobs[label] + offsets.get(label, 0.0))


@dataclass(frozen=True)
class Calibration:
    """Fitted offsets and what they do on the data they were fitted on."""

    offsets: dict[str, float]
    n: int
    macro_f1_before: float
    macro_f1_after: float
    accuracy_before: float
    accuracy_after: float
    predicted_after: dict[str, int] = field(default_factory=dict)
    objective: str = "macro_f1"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's ``calibration`` entries)."""
        return {
            "offsets": self.offsets,
            "fitted_on": f"validation split, {self.n} items",
            "objective": self.objective,
            "macro_f1": {"before": self.macro_f1_before, "after": self.macro_f1_after},
            "accuracy": {"before": self.accuracy_before, "after": self.accuracy_after},
            "predicted_after": self.predicted_after,
        }


def _scores(
    rows: Sequence[tuple[Mapping[str, float], str]],
    offsets: Mapping[str, float],
    labels: Sequence[str],
) -> tuple[float, float, list[str]]:
    from lumen_lab.eval.metrics import accuracy, macro_f1

    predictions = [predict(logprobs, offsets) for logprobs, _ in rows]
    gold = [label for _, label in rows]
    return macro_f1(predictions, gold, labels=labels), accuracy(predictions, gold), predictions


#: What the offsets are chosen to optimise.
OBJECTIVES = ("macro_f1", "balanced_likelihood")


def _balanced_log_loss(
    rows: Sequence[tuple[Mapping[str, float], str]],
    offsets: Mapping[str, float],
    labels: Sequence[str],
    counts: Mapping[str, int],
) -> float:
    """Cross-entropy of the gold labels under a softmax over the offset label scores.

    Each label's items weigh 1 / its count (``counts``), so every label counts the same.
    """
    total = 0.0
    for logprobs, gold in rows:
        scores = [logprobs[label] + offsets.get(label, 0.0) for label in labels]
        top = max(scores)
        normaliser = top + math.log(sum(math.exp(v - top) for v in scores))
        total += (normaliser - scores[labels.index(gold)]) / counts[gold]
    return total


def fit_offsets(
    rows: Sequence[tuple[Mapping[str, float], str]],
    labels: Sequence[str],
    *,
    grid: Sequence[float] = GRID,
    objective: str = "macro_f1",
) -> Calibration:
    """Offsets for ``labels[1:]`` (``labels[0]`` fixed at 0) fitted on ``rows``.

    ``rows`` are (log-likelihood per label, gold label). An exhaustive search over ``grid``
    for each offset (with three labels, 49 x 49 settings) for the best ``objective``:
    ``macro_f1`` of the predictions (ties: higher accuracy, then smaller offsets), or
    ``balanced_likelihood``, the label-balanced log-likelihood of the gold labels. The second
    is smooth in the offsets, so a few items more or less move it little.
    """
    if not rows:
        raise ValueError("calibration needs at least one validation item")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown calibration objective {objective!r}; one of {OBJECTIVES}")
    reference, *others = labels
    zero = dict.fromkeys(labels, 0.0)
    f1_before, accuracy_before, _ = _scores(rows, zero, labels)
    counts = {label: sum(gold == label for _, gold in rows) for label in labels}
    best_key: tuple[float, ...] | None = None
    best: dict[str, float] = zero
    for combination in itertools.product(grid, repeat=len(others)):
        offsets = {reference: 0.0, **dict(zip(others, combination, strict=True))}
        smallness = -sum(abs(v) for v in combination)
        if objective == "macro_f1":
            f1, acc, _ = _scores(rows, offsets, labels)
            key: tuple[float, ...] = (f1, acc, smallness)
        else:
            key = (-_balanced_log_loss(rows, offsets, labels, counts), smallness)
        if best_key is None or key > best_key:
            best_key, best = key, offsets
    f1_after, accuracy_after, predictions = _scores(rows, best, labels)
    return Calibration(
        offsets=best,
        n=len(rows),
        macro_f1_before=f1_before,
        macro_f1_after=f1_after,
        accuracy_before=accuracy_before,
        accuracy_after=accuracy_after,
        predicted_after={label: predictions.count(label) for label in labels},
        objective=objective,
    )
