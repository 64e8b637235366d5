"""Verdict calibration: one offset per yes/no/maybe label, fitted on the validation split.

A small model's verdicts follow a skewed prior: it says "maybe" far less often than the
evidence is mixed. Adding a fixed offset to each label's log-likelihood before taking the best
corrects that prior without retraining. The offsets are fitted on the validation split (never
the test split) to maximise macro-F1, so each label counts the same however rare it is; ties
go to the higher accuracy, then to the smaller offsets. "yes" is the reference (offset 0).

At answer time the same offsets become a bias on the answer's first token
(:class:`lumen.components.llm.base.GenerationParams.opening_bias`), which shifts greedy
decoding between the verdict words exactly as it shifts the log-likelihood reading.
"""

from __future__ import annotations

import itertools
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's ``calibration`` entries)."""
        return {
            "offsets": self.offsets,
            "fitted_on": f"validation split, {self.n} items",
            "macro_f1": {"before": self.macro_f1_before, "after": self.macro_f1_after},
            "accuracy": {"before": self.accuracy_before, "after": self.accuracy_after},
            "predicted_after": self.predicted_after,
        }


def _scores(
    rows: Sequence[tuple[Mapping[str, float], str]],
    offsets: Mapping[str, float],
    labels: Sequence[str],
) -> tuple[float, float, list[str]]:
    from lumen.eval.metrics import accuracy, macro_f1

    predictions = [predict(logprobs, offsets) for logprobs, _ in rows]
    gold = [label for _, label in rows]
    return macro_f1(predictions, gold, labels=labels), accuracy(predictions, gold), predictions


def fit_offsets(
    rows: Sequence[tuple[Mapping[str, float], str]],
    labels: Sequence[str],
    *,
    grid: Sequence[float] = GRID,
) -> Calibration:
    """Offsets for ``labels[1:]`` (``labels[0]`` fixed at 0) maximising macro-F1 on ``rows``.

    ``rows`` are (log-likelihood per label, gold label). An exhaustive search over ``grid``
    for each offset; with three labels that is 49 x 49 settings.
    """
    if not rows:
        raise ValueError("calibration needs at least one validation item")
    reference, *others = labels
    zero = dict.fromkeys(labels, 0.0)
    f1_before, accuracy_before, _ = _scores(rows, zero, labels)
    best_key: tuple[float, float, float] | None = None
    best: dict[str, float] = zero
    for combination in itertools.product(grid, repeat=len(others)):
        offsets = {reference: 0.0, **dict(zip(others, combination, strict=True))}
        f1, acc, _ = _scores(rows, offsets, labels)
        key = (f1, acc, -sum(abs(v) for v in combination))
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
    )
