"""``evaluate``: the untuned and the tuned GGUF on the held-out PubMedQA test split.

Each test item is the training prompt format (Lumen's numbered sources, the gold abstract
without its conclusions) rendered with the chat template; with ``evaluate.retrieved`` also the
same question over passages retrieved from an index of the PQA-L abstracts, as the pipeline
would answer it. Two readings, through llama.cpp:

* ``loglikelihood``: the label whose word (either case) is the likelier start of the answer;
* ``generate``: the first yes/no/maybe in a greedy answer (none found counts as wrong);
* with ``evaluate.verdict_first``, ``generate_verdict_first``: greedy answers opened with the
  verdict word the model finds likeliest, as a registered tuned model answers yes-no questions
  (:func:`lumen.components.llm.llama_cpp.verdict_opening_processor`);
* with ``evaluate.calibrate``, both again with verdict offsets fitted on the validation split
  (:mod:`lumen_lab.finetune.calibrate`): ``loglikelihood_calibrated`` and ``generate_calibrated``
  (the offsets as a bias on the answer's first token, as ``lumen ask --model`` applies them;
  with ``evaluate.verdict_first`` on the verdict-first opening).

Also reported: validation perplexity before and after (from the training run's losses), the
training time per step and peak memory, and (``evaluate.mirage_limit``) closed-book MIRAGE
accuracy through the harness. Writes ``report.json``, ``items.jsonl`` (test predictions),
``calibration.jsonl`` (the validation log-likelihoods fitted on) and ``training.png``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen_lab.finetune.config import Recipe
from lumen_lab.finetune.data import LABELS, read_split, settings_for
from lumen_lab.finetune.train import SUMMARY, read_metrics

logger = logging.getLogger(__name__)

EVAL_DIR = "eval"
_LABEL_WORD = re.compile(r"\b(yes|no|maybe)\b", re.IGNORECASE)


def first_label(text: str) -> str | None:
    """The first yes/no/maybe word in ``text`` (lower case), or None."""
    match = _LABEL_WORD.search(text)
    return match.group(1).lower() if match else None


def _scorer(llama: Any) -> Any:
    from lumen_lab.eval.scoring import LlamaCppScorer

    class ChatScorer(LlamaCppScorer):
        """Reads the chat template's special tokens as tokens, not text."""

        def _tokens(self, text: str, *, bos: bool) -> list[int]:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    return ChatScorer(llama)


def _logsumexp(values: Sequence[float]) -> float:
    peak = max(values)
    return peak + math.log(sum(math.exp(v - peak) for v in values))


def _label_logprobs(scorer: Any, prompt: str) -> dict[str, float]:
    """Log-likelihood of each label opening the answer (either case, summed)."""
    continuations = [w.capitalize() for w in LABELS] + list(LABELS)
    scores = scorer.score(prompt, continuations)
    return {
        word: _logsumexp([scores[i].logprob, scores[i + len(LABELS)].logprob])
        for i, word in enumerate(LABELS)
    }


@dataclass(frozen=True)
class Reading:
    """One way of reading a model's verdict: the row fields holding it and its answer text."""

    verdict: str
    answer: str
    generated: bool


#: Readings of a model's verdict, by report key.
READINGS = {
    "loglikelihood": Reading("loglikelihood", "answer", generated=False),
    "generate": Reading("generated", "answer", generated=True),
    "generate_verdict_first": Reading("verdict_first", "answer_verdict_first", generated=True),
    "loglikelihood_calibrated": Reading("calibrated", "answer_calibrated", generated=False),
    "generate_calibrated": Reading("generated_calibrated", "answer_calibrated", generated=True),
}


def evaluate_model(
    gguf: Path,
    items: Sequence[dict[str, Any]],
    recipe: Recipe,
    label: str,
    *,
    validation: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Predictions and metrics of one GGUF model on ``items``.

    With ``validation`` items, verdict offsets are first fitted on them
    (:mod:`lumen_lab.finetune.calibrate`) and two more readings are reported: the offset
    log-likelihood, and greedy answers whose first token carries the offsets as a bias.
    """
    from llama_cpp import LogitsProcessorList
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lumen.components.llm.llama_cpp import LlamaCppLLM, opening_processor
    from lumen.factory import build_llm
    from lumen.settings import LLMSettings
    from lumen_lab.finetune.calibrate import Calibration, fit_offsets, predict

    err_console = Console(stderr=True)
    options = recipe.evaluate
    llm = build_llm(
        LLMSettings(
            backend="llama_cpp",
            model_path=gguf,
            context_window=options.context_window,
            threads=options.threads,
            seed=0,
        )
    )
    if not isinstance(llm, LlamaCppLLM):  # a GGUF file is always served by llama.cpp
        raise TypeError("the evaluation needs llama.cpp's logits")
    llama = llm.llama
    scorer = _scorer(llama)

    def answer(
        prompt: str, bias: dict[str, float] | None = None, *, verdict_first: bool = False
    ) -> str:
        extra = {}
        processor = opening_processor(llama, LABELS if verdict_first else (), bias)
        if processor is not None:
            extra["logits_processor"] = LogitsProcessorList([processor])
        output = llama.create_completion(
            prompt=prompt,
            max_tokens=options.generate_tokens,
            temperature=0.0,
            repeat_penalty=1.1,
            stop=["<|im_end|>"],
            **extra,
        )
        return str(output["choices"][0]["text"]).strip()

    calibration: Calibration | None = None
    fitted: list[dict[str, Any]] = []
    rows = []
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
    ) as bar:
        if validation:
            task = bar.add_task(f"calibrating {label}", total=len(validation))
            for item in validation:
                logprobs = _label_logprobs(scorer, item["prompt"])
                fitted.append({"id": item["id"], "gold": item["label"], "logprobs": logprobs})
                bar.advance(task)
            calibration = fit_offsets(
                [(r["logprobs"], r["gold"]) for r in fitted],
                LABELS,
                objective=options.calibration_objective,
            )
        offsets = calibration.offsets if calibration else {}
        biased = any(offsets.values())
        task = bar.add_task(f"evaluating {label}", total=len(items))
        for item in items:
            by_label = _label_logprobs(scorer, item["prompt"])
            text = answer(item["prompt"])
            row: dict[str, Any] = {
                "id": item["id"],
                "gold": item["label"],
                "loglikelihood": predict(by_label, {}),
                "generated": first_label(text),
                "answer": text,
                "logprobs": by_label,
                **{key: item[key] for key in ("retrieved", "set") if key in item},
            }
            if options.verdict_first:
                opened = answer(item["prompt"], verdict_first=True)
                row["verdict_first"] = first_label(opened)
                row["answer_verdict_first"] = opened
            if calibration is not None:
                calibrated_text = (
                    answer(item["prompt"], offsets, verdict_first=options.verdict_first)
                    if biased
                    else row.get("answer_verdict_first", text)
                )
                row["calibrated"] = predict(by_label, offsets)
                row["generated_calibrated"] = first_label(calibrated_text)
                row["answer_calibrated"] = calibrated_text
            rows.append(row)
            bar.advance(task)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"model": str(gguf), "n": len(rows), "seconds": seconds}
    if calibration is not None:
        result["calibration"] = calibration.to_dict()
    result.update(score_readings(rows))
    result["rows"] = rows
    result["validation_rows"] = fitted
    return result


def score_readings(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy, macro-F1, predicted labels and confusion of each reading the rows hold."""
    from lumen_lab.eval.metrics import accuracy, macro_f1

    gold = [r["gold"] for r in rows]
    scores: dict[str, dict[str, Any]] = {}
    for name, reading in READINGS.items():
        if not rows or reading.verdict not in rows[0]:
            continue
        predictions = [r[reading.verdict] for r in rows]
        scores[name] = {
            "accuracy": accuracy(predictions, gold),
            "macro_f1": macro_f1(predictions, gold, labels=LABELS),
            "predicted": dict(Counter(str(p) for p in predictions)),
            "confusion": {
                label: dict(
                    Counter(str(p) for p, g in zip(predictions, gold, strict=True) if g == label)
                )
                for label in LABELS
            },
            "cites_source": (
                sum("[1]" in r[reading.answer] for r in rows) / len(rows)
                if reading.generated
                else None
            ),
        }
    return scores


def _perplexity(loss: Any) -> float | None:
    return math.exp(float(loss)) if isinstance(loss, int | float) else None


def _pmid(item: dict[str, Any]) -> str:
    return str(item.get("pmid") or item["id"].removeprefix("pubmedqa:"))


def retrieved_items(
    recipe: Recipe, groups: Sequence[Sequence[dict[str, Any]]], out_dir: Path, tokenizer: Any
) -> tuple[list[list[dict[str, Any]]], list[float]]:
    """Each group of items over retrieved PQA-L passages; per group, the share finding its own.

    The index is the harness's ``pubmedqa`` corpus (all PQA-L abstracts, titles replaced by
    first sentences and conclusions dropped), built once under ``index`` (see
    :mod:`lumen_lab.finetune.passages`).
    """
    from lumen_lab.eval.datasets import load_pqal
    from lumen_lab.finetune.data import render_prompt, sources_dir
    from lumen_lab.finetune.passages import INDEX_DIR, doc_id, pqal_search

    root = sources_dir(recipe.data)
    questions = {raw.pmid: raw.question for raw in load_pqal(root / recipe.data.pubmedqa)}
    with pqal_search(recipe, out_dir / INDEX_DIR) as search:

        def with_passages(item: dict[str, Any]) -> dict[str, Any]:
            pmid = _pmid(item)
            question = item.get("question") or questions.get(pmid)
            if question is None:
                raise InputError(f"item {item['id']}: pmid {pmid} is not in the PQA-L file")
            chunks = search(question, recipe.evaluate.k)
            prompt = render_prompt(question, chunks, tokenizer, recipe)
            return {**item, "prompt": prompt.text, "retrieved": [c.chunk.doc_id for c in chunks]}

        rendered = [[with_passages(item) for item in items] for items in groups]
    shares = [
        sum(doc_id(_pmid(r)) in r["retrieved"] for r in group) / len(group) if group else 0.0
        for group in rendered
    ]
    return rendered, shares


def mirage_accuracy(recipe: Recipe, gguf: Path, out_dir: Path) -> dict[str, float | None]:
    """Closed-book accuracy per MIRAGE task (``evaluate.mirage_limit`` questions each)."""
    from lumen_lab.eval.context import RunOptions
    from lumen_lab.eval.runner import run_eval

    settings = settings_for(recipe, backend="llama_cpp", model_path=gguf)
    options = RunOptions(
        out_dir=out_dir,
        limit=recipe.evaluate.mirage_limit,
        modes=("closed-book",),
        resume=(out_dir / "results.json").is_file() or (out_dir / "items.jsonl").is_file(),
    )
    results = run_eval(["mirage"], options, settings=settings)
    scores = {
        task.name: task.conditions[0].metrics.get("accuracy") if task.conditions else None
        for task in results.tasks
    }
    known = [v for v in scores.values() if v is not None]
    scores["mean"] = sum(known) / len(known) if known else None
    return scores


def _scored(
    models: dict[str, dict[str, Any]], sets: Sequence[str | None]
) -> dict[str, dict[str, Any]]:
    """Each model's result without its rows, scored on the rows of ``sets`` only.

    A row's set is None for the test split, :data:`HELDOUT_SET` for the second held-out set.
    """
    kept = ("model", "seconds", "calibration")
    result = {}
    for name, model in models.items():
        rows = [r for r in model["rows"] if r.get("set") in sets]
        result[name] = {
            **{k: v for k, v in model.items() if k in kept},
            "n": len(rows),
            **score_readings(rows),
        }
    return result


def _pubmedqa_items(path: Path, split: str) -> list[dict[str, Any]]:
    items = [r for r in read_split(path) if r.get("source") == "pubmedqa"]
    if not items:
        raise InputError(f"the {split} split holds no PubMedQA items")
    return items


def deployed_offsets(report: dict[str, Any]) -> dict[str, float] | None:
    """The tuned model's verdict offsets for answering (None when not calibrated).

    Those fitted with retrieved passages (the pipeline's situation) where evaluated so, else
    those fitted with the gold abstract.
    """
    models = (report.get("retrieved") or {}).get("models") or report.get("models") or {}
    calibration = (models.get("after") or {}).get("calibration")
    return dict(calibration["offsets"]) if calibration else None


def evaluate(
    recipe: Recipe, out_dir: Path, *, base_gguf: Path | None, tuned_gguf: Path
) -> dict[str, Any]:
    """Before/after report on the test split; returns it and writes it under ``out_dir/eval``.

    Conditions: the gold abstract (the training format), retrieved passages
    (``evaluate.retrieved``), and closed-book MIRAGE through the harness
    (``evaluate.mirage_limit``). With ``evaluate.heldout_mirage`` the first two also read
    MIRAGE's PubMedQA questions (:mod:`lumen_lab.finetune.heldout`), reported apart under
    ``heldout`` and together with the test split under ``heldout.both_sets``.
    """
    from lumen_lab.finetune.heldout import HELDOUT_SET, heldout_items
    from lumen_lab.finetune.models import load_tokenizer, resolve_base

    items = _pubmedqa_items(out_dir / "data" / "test.jsonl", "test")
    tokenizer = load_tokenizer(resolve_base(recipe.model))
    heldout = heldout_items(recipe, tokenizer)
    if recipe.evaluate.max_items:
        items = items[: recipe.evaluate.max_items]
        heldout = heldout[: recipe.evaluate.max_items]
    validation: list[dict[str, Any]] = []
    if recipe.evaluate.calibrate:
        validation = _pubmedqa_items(out_dir / "data" / "validation.jsonl", "validation")
    if not tuned_gguf.is_file():
        raise InputError(f"no tuned GGUF at {tuned_gguf}: run 'lumen finetune export' first")
    ggufs = {"before": base_gguf, "after": tuned_gguf} if base_gguf else {"after": tuned_gguf}
    names = {"before": "untuned", "after": "tuned"}
    folder = out_dir / EVAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    gold = {
        k: evaluate_model(g, [*items, *heldout], recipe, f"{names[k]}, gold", validation=validation)
        for k, g in ggufs.items()
    }
    retrieved: dict[str, dict[str, Any]] = {}
    retrieval: dict[str, Any] | None = None
    heldout_share: float | None = None
    if recipe.evaluate.retrieved:
        (with_passages, heldout_passages, validation_passages), shares = retrieved_items(
            recipe, [items, heldout, validation], out_dir, tokenizer
        )
        heldout_share = shares[1]
        retrieved = {
            k: evaluate_model(
                g,
                [*with_passages, *heldout_passages],
                recipe,
                f"{names[k]}, retrieved",
                validation=validation_passages,
            )
            for k, g in ggufs.items()
        }
        retrieval = {
            "retriever": recipe.evaluate.retriever,
            "k": recipe.evaluate.k,
            "neighbours": recipe.evaluate.neighbours,
            "own_abstract_retrieved": shares[0],
            "models": _scored(retrieved, [None]),
        }
    second: dict[str, Any] | None = None
    if heldout:
        second = {
            "name": HELDOUT_SET,
            "source": f"{recipe.evaluate.heldout_mirage} (pubmedqa) with "
            f"{recipe.evaluate.heldout_abstracts}",
            "items": len(heldout),
            "gold_labels": dict(Counter(i["label"] for i in heldout)),
            "own_abstract_retrieved": heldout_share,
            "gold": _scored(gold, [HELDOUT_SET]),
            "retrieved": _scored(retrieved, [HELDOUT_SET]) if retrieved else None,
            "both_sets": {
                "items": len(items) + len(heldout),
                "gold": _scored(gold, [None, HELDOUT_SET]),
                "retrieved": _scored(retrieved, [None, HELDOUT_SET]) if retrieved else None,
            },
        }
    mirage: dict[str, Any] | None = None
    if recipe.evaluate.mirage_limit:
        mirage = {
            "mode": "closed-book",
            "limit_per_task": recipe.evaluate.mirage_limit,
            "models": {
                k: mirage_accuracy(recipe, g, folder / "mirage" / k) for k, g in ggufs.items()
            },
        }
    summary_path = out_dir / SUMMARY
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    report: dict[str, Any] = {
        "recipe": recipe.name,
        "test_items": len(items),
        "validation_items_calibrated_on": len(validation),
        "gold_labels": dict(Counter(i["label"] for i in items)),
        "models": _scored(gold, [None]),
        "retrieved": retrieval,
        "heldout": second,
        "mirage": mirage,
        "validation_perplexity": {
            "before": _perplexity(summary.get("eval_loss_before")),
            "after": _perplexity(summary.get("eval_loss_best")),
        },
        "training": {
            key: summary.get(key)
            for key in (
                "global_step",
                "seconds_per_step",
                "examples_per_step",
                "peak_rss_mb",
                "train_examples",
                "train_loss",
                "eval_loss_before",
                "eval_loss_best",
                "trainable_parameters",
            )
        },
    }
    (folder / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    for filename, key in (("items.jsonl", "rows"), ("calibration.jsonl", "validation_rows")):
        with (folder / filename).open("w", encoding="utf-8") as handle:
            for context, models in (("gold", gold), ("retrieved", retrieved)):
                for name, model in models.items():
                    for row in model[key]:
                        record = {"model": name, "context": context, **row}
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    plot = write_plot(folder / "training.png", read_metrics(out_dir), report)
    report["plot"] = str(plot) if plot else None
    return report


_PLOT_READINGS = {
    "loglikelihood": "LL",
    "generate": "gen",
    "generate_verdict_first": "gen, verdict first",
    "loglikelihood_calibrated": "LL, calibrated",
    "generate_calibrated": "gen, calibrated",
}


def result_groups(report: dict[str, Any]) -> list[tuple[str, str, dict[str, dict[str, Any]]]]:
    """``(item set, context, {model: scores})`` for each reading of a report, test split first."""
    retrieved = report.get("retrieved")
    context = ""
    if retrieved:
        around = retrieved.get("neighbours") or 0
        context = f"retrieved (k={retrieved['k']}{f', +{around} around' if around else ''})"
    test = f"PubMedQA test split (n={report['test_items']})"
    groups = [(test, "gold abstract", report["models"])]
    if retrieved:
        groups.append((test, context, retrieved["models"]))
    heldout = report.get("heldout")
    if heldout:
        both = heldout["both_sets"]
        for name, part in (
            (f"MIRAGE PubMedQA (n={heldout['items']})", heldout),
            (f"both sets (n={both['items']})", both),
        ):
            groups.append((name, "gold abstract", part["gold"]))
            if part.get("retrieved"):
                groups.append((name, context, part["retrieved"]))
    return groups


def write_plot(path: Path, metrics: list[dict[str, Any]], report: dict[str, Any]) -> Path | None:
    """Training and validation loss by step; accuracy/macro-F1 before and after per context."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed: no plot")
        return None
    groups = [(f"{name}, {context}", models) for name, context, models in result_groups(report)]
    columns = min(3, 1 + len(groups))
    rows = -(-(1 + len(groups)) // columns)
    figure = Figure(figsize=(6.5 * columns, 4.6 * rows), layout="constrained")
    curves, *panels = figure.subplots(rows, columns, squeeze=False).flatten()
    for unused in panels[len(groups) :]:
        unused.set_visible(False)
    train = [(m["step"], m["loss"]) for m in metrics if "loss" in m]
    valid = [(m["step"], m["eval_loss"]) for m in metrics if "eval_loss" in m]
    if train:
        curves.plot(*zip(*train, strict=True), label="training loss", linewidth=1)
    if valid:
        curves.plot(*zip(*valid, strict=True), "o-", label="validation loss")
    curves.set_xlabel("optimizer step")
    curves.set_ylabel("loss (completion tokens)")
    curves.set_title("Training curves")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8)
    for bars, (title, models) in zip(panels, groups, strict=False):
        readings = [r for r in _PLOT_READINGS if all(r in m for m in models.values())]
        labels = [f"{metric} ({_PLOT_READINGS[r]})" for r in readings for metric in ("acc", "F1")]
        width = 0.8 / max(len(models), 1)
        for index, (name, model) in enumerate(models.items()):
            values = [model[r][metric] for r in readings for metric in ("accuracy", "macro_f1")]
            xs = [g + (index - (len(models) - 1) / 2) * width for g in range(len(labels))]
            drawn = bars.bar(xs, values, width, label=name)
            bars.bar_label(drawn, labels=[f"{v:.2f}" for v in values], fontsize=6)
        bars.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        bars.set_ylim(0, 1)
        bars.set_title(title, fontsize=10)
        bars.legend(fontsize=8)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110)
    return path
