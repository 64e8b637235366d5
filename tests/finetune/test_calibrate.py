"""Verdict calibration: offsets fitted on validation items, the trainer's verdict weights."""

from __future__ import annotations

import pytest

from lumen_lab.finetune.calibrate import fit_offsets, predict
from lumen_lab.finetune.data import LABELS


def _row(yes: float, no: float, maybe: float, gold: str) -> tuple[dict[str, float], str]:
    return {"yes": yes, "no": no, "maybe": maybe}, gold


def test_offsets_recover_a_label_the_prior_hides() -> None:
    # "maybe" items score "maybe" second best, 1 nat behind "yes"; the prior never picks it.
    rows = [
        *[_row(-0.5, -3.0, -1.5, "maybe") for _ in range(4)],
        *[_row(-0.3, -2.5, -3.0, "yes") for _ in range(10)],
        *[_row(-1.0, -0.6, -3.0, "no") for _ in range(5)],
    ]
    calibration = fit_offsets(rows, LABELS)
    assert calibration.macro_f1_before < 1.0
    assert "maybe" not in [predict(logprobs, {}) for logprobs, _ in rows]
    assert calibration.offsets["yes"] == 0.0
    assert 1.0 < calibration.offsets["maybe"] <= 1.5  # the smallest offset that separates
    assert calibration.macro_f1_after == pytest.approx(1.0)
    assert calibration.predicted_after == {"yes": 10, "no": 5, "maybe": 4}
    assert [predict(lp, calibration.offsets) for lp, _ in rows] == [g for _, g in rows]


def test_offsets_stay_zero_when_the_prior_is_right() -> None:
    rows = [_row(-0.1, -2.0, -3.0, "yes"), _row(-2.0, -0.1, -3.0, "no")]
    calibration = fit_offsets(rows, LABELS)
    assert calibration.offsets == {"yes": 0.0, "no": 0.0, "maybe": 0.0}
    assert calibration.macro_f1_after == calibration.macro_f1_before
    assert calibration.to_dict()["fitted_on"] == "validation split, 2 items"


def test_calibration_needs_items() -> None:
    with pytest.raises(ValueError, match="at least one"):
        fit_offsets([], LABELS)


def test_predict_adds_offsets_and_breaks_ties_by_label_order() -> None:
    logprobs = {"yes": -1.0, "no": -1.0, "maybe": -2.0}
    assert predict(logprobs, {}) == "yes"
    assert predict(logprobs, {"maybe": 1.5}) == "maybe"
    assert predict(logprobs, {"no": 0.25}) == "no"


def test_verdict_weights_weigh_only_an_opening_verdict() -> None:
    torch = pytest.importorskip("torch")
    from lumen_lab.finetune.train import verdict_weights

    ignored = -100
    labels = torch.tensor(
        [
            [ignored, ignored, 7, 8, 9],  # opens with a verdict token (7)
            [ignored, 8, 7, 9, ignored],  # opens with another token; 7 later is not weighted
        ]
    )
    weights = verdict_weights(labels, torch.tensor([7]), 10.0)
    assert weights.tolist() == [[0.0, 0.0, 10.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0, 0.0]]
    plain = verdict_weights(labels, torch.tensor([7]), 1.0)
    assert plain.sum().item() == (labels != ignored).sum().item()


def test_verdict_tokens_are_the_opening_words_of_smollm2() -> None:
    from lumen_lab.finetune.config import ModelOptions
    from lumen_lab.finetune.models import load_tokenizer, resolve_base
    from lumen_lab.finetune.train import verdict_token_ids

    tokenizer = load_tokenizer(resolve_base(ModelOptions()))
    ids = verdict_token_ids(tokenizer)
    assert len(ids) == 6  # Yes/No/Maybe in both cases, one token each
    answer = tokenizer("Maybe. The evidence is mixed.", add_special_tokens=False)["input_ids"]
    assert answer[0] in ids


def test_balanced_likelihood_lifts_the_rare_label_and_moves_little_with_one_item() -> None:
    # "maybe" items score "maybe" 1 nat behind "yes"; "yes" items 2.5 nats ahead of "maybe".
    rows = [
        *[_row(-0.5, -3.0, -1.5, "maybe") for _ in range(4)],
        *[_row(-0.3, -2.5, -2.8, "yes") for _ in range(10)],
        *[_row(-1.0, -0.6, -3.0, "no") for _ in range(5)],
    ]
    calibration = fit_offsets(rows, LABELS, objective="balanced_likelihood")
    assert calibration.objective == "balanced_likelihood"
    assert calibration.to_dict()["objective"] == "balanced_likelihood"
    assert calibration.offsets["maybe"] > 1.0  # "maybe" now wins its own items ...
    assert calibration.predicted_after == {"yes": 10, "no": 5, "maybe": 4}  # ... and no others
    # One odd "maybe" item (scored like a clear "yes") shifts the smooth fit by little,
    # and the fitted offsets still separate the other items.
    odd = fit_offsets(
        [*rows, _row(-0.2, -3.0, -4.0, "maybe")], LABELS, objective="balanced_likelihood"
    )
    assert abs(odd.offsets["maybe"] - calibration.offsets["maybe"]) <= 1.0
    assert odd.predicted_after["yes"] >= 10


def test_unknown_objective_is_refused() -> None:
    with pytest.raises(ValueError, match="objective 'accuracy'"):
        fit_offsets([_row(-0.1, -2.0, -3.0, "yes")], LABELS, objective="accuracy")
