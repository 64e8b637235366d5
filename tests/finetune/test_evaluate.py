"""Scoring of the evaluation's verdict readings (log-likelihood, generation, calibrated)."""

from __future__ import annotations

from typing import Any

import pytest

from lumen_lab.finetune.evaluate import first_label, score_readings


def _row(gold: str, verdict: str, answer: str, **calibrated: str) -> dict[str, Any]:
    row = {
        "gold": gold,
        "loglikelihood": verdict,
        "generated": first_label(answer),
        "answer": answer,
    }
    if calibrated:
        row |= {
            "calibrated": calibrated["cal_verdict"],
            "generated_calibrated": first_label(calibrated["cal_answer"]),
            "answer_calibrated": calibrated["cal_answer"],
        }
    return row


def test_each_reading_is_scored_from_its_own_fields() -> None:
    rows = [
        _row(
            "yes", "yes", "Yes. It lowers the risk [1].", cal_verdict="yes", cal_answer="Yes [1]."
        ),
        _row("no", "yes", "Yes, it does.", cal_verdict="no", cal_answer="No. [1]"),
        _row("maybe", "yes", "The evidence is mixed.", cal_verdict="maybe", cal_answer="Maybe."),
        _row("yes", "no", "No.", cal_verdict="maybe", cal_answer="Maybe, [1] is small."),
    ]
    scores = score_readings(rows)
    assert list(scores) == [
        "loglikelihood",
        "generate",
        "loglikelihood_calibrated",
        "generate_calibrated",
    ]
    assert scores["loglikelihood"]["accuracy"] == pytest.approx(0.25)
    assert scores["loglikelihood"]["predicted"] == {"yes": 3, "no": 1}
    assert scores["loglikelihood"]["confusion"]["yes"] == {"yes": 1, "no": 1}
    assert scores["loglikelihood"]["cites_source"] is None
    # "The evidence is mixed." opens with no verdict: a miss, counted as None.
    assert scores["generate"]["predicted"] == {"yes": 2, "None": 1, "no": 1}
    assert scores["generate"]["cites_source"] == pytest.approx(0.25)
    assert scores["loglikelihood_calibrated"]["accuracy"] == pytest.approx(0.75)
    assert scores["generate_calibrated"]["accuracy"] == pytest.approx(0.75)
    assert scores["generate_calibrated"]["cites_source"] == pytest.approx(0.75)
    assert scores["generate_calibrated"]["macro_f1"] > scores["generate"]["macro_f1"]


def test_uncalibrated_rows_have_only_the_plain_readings() -> None:
    scores = score_readings([_row("yes", "yes", "Yes.")])
    assert set(scores) == {"loglikelihood", "generate"}
    assert scores["generate"]["accuracy"] == 1.0
    assert score_readings([]) == {}


QUESTIONS = (
    "Does aspirin reduce the risk of a first heart attack?",
    "Is vitamin C effective against the common cold?",
    "Do statins cause memory loss?",
    "Is surgery better than physiotherapy for a torn meniscus?",
)


@pytest.mark.parametrize("bias", [{}, {"no": 2.5}, {"maybe": 4.0}], ids=["none", "no", "maybe"])
def test_verdict_first_answers_agree_with_the_loglikelihood_reading(
    llm: Any, bias: dict[str, float]
) -> None:
    """The deployed verdict-first opening is the evaluation's log-likelihood verdict."""
    from llama_cpp import LogitsProcessorList

    from lumen.components.llm.llama_cpp import verdict_opening_processor
    from lumen_lab.finetune.calibrate import predict
    from lumen_lab.finetune.data import LABELS
    from lumen_lab.finetune.evaluate import _label_logprobs, _scorer

    llama = llm.llama
    scorer = _scorer(llama)
    openings = set()
    for question in QUESTIONS:
        prompt = (
            f"<|im_start|>user\n{question} Answer yes, no or maybe.<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
        expected = predict(_label_logprobs(scorer, prompt), bias)
        processor = verdict_opening_processor(llama, LABELS, bias)
        output = llama.create_completion(
            prompt=prompt,
            max_tokens=6,
            temperature=0.0,
            logits_processor=LogitsProcessorList([processor]),
        )
        text = str(output["choices"][0]["text"]).strip()
        assert first_label(text) == expected, (question, text)
        assert text.lower().startswith(expected)
        openings.add(expected)
    assert openings <= set(LABELS)
