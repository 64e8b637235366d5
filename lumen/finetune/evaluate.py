"""``evaluate``: the untuned and the tuned GGUF on the held-out PubMedQA test split.

Each test item is the training prompt format (Lumen's numbered sources, the gold abstract
without its conclusions) rendered with the chat template. Two readings, through llama.cpp:

* ``loglikelihood``: the label whose word (either case) is the likelier start of the answer;
* ``generate``: the first yes/no/maybe in a greedy answer (none found counts as wrong).

Also reported: validation perplexity before and after (from the training run's losses), the
training time per step and peak memory. Writes ``report.json``, ``items.jsonl`` and
``training.png``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen.finetune.config import Recipe
from lumen.finetune.data import LABELS, read_split
from lumen.finetune.deps import require
from lumen.finetune.train import SUMMARY, read_metrics

logger = logging.getLogger(__name__)

EVAL_DIR = "eval"
_LABEL_WORD = re.compile(r"\b(yes|no|maybe)\b", re.IGNORECASE)


def first_label(text: str) -> str | None:
    """The first yes/no/maybe word in ``text`` (lower case), or None."""
    match = _LABEL_WORD.search(text)
    return match.group(1).lower() if match else None


def _scorer(llama: Any) -> Any:
    from lumen.eval.scoring import LlamaCppScorer

    class ChatScorer(LlamaCppScorer):
        """Reads the chat template's special tokens as tokens, not text."""

        def _tokens(self, text: str, *, bos: bool) -> list[int]:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    return ChatScorer(llama)


def _logsumexp(values: Sequence[float]) -> float:
    peak = max(values)
    return peak + math.log(sum(math.exp(v - peak) for v in values))


def evaluate_model(
    gguf: Path, items: Sequence[dict[str, Any]], recipe: Recipe, label: str
) -> dict[str, Any]:
    """Predictions and metrics of one GGUF model on ``items``."""
    llama_cpp = require("llama_cpp")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lumen.cli.common import err_console
    from lumen.eval.metrics import accuracy, macro_f1

    options = recipe.evaluate
    kwargs: dict[str, Any] = {"n_ctx": options.context_window, "verbose": False, "seed": 0}
    if options.threads:
        kwargs["n_threads"] = options.threads
    llama = llama_cpp.Llama(model_path=str(gguf), **kwargs)
    scorer = _scorer(llama)
    continuations = [w.capitalize() for w in LABELS] + list(LABELS)
    rows = []
    started = time.perf_counter()
    with Progress(
        TextColumn(f"[bold]evaluating {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            scores = scorer.score(item["prompt"], continuations)
            by_label = {
                word: _logsumexp([scores[i].logprob, scores[i + len(LABELS)].logprob])
                for i, word in enumerate(LABELS)
            }
            scored = max(by_label, key=lambda w: by_label[w])
            output = llama.create_completion(
                prompt=item["prompt"],
                max_tokens=options.generate_tokens,
                temperature=0.0,
                repeat_penalty=1.1,
                stop=["<|im_end|>"],
            )
            text = str(output["choices"][0]["text"]).strip()
            rows.append(
                {
                    "id": item["id"],
                    "gold": item["label"],
                    "loglikelihood": scored,
                    "generated": first_label(text),
                    "answer": text,
                    "logprobs": by_label,
                }
            )
            bar.advance(task)
    seconds = time.perf_counter() - started
    gold = [r["gold"] for r in rows]
    result: dict[str, Any] = {"model": str(gguf), "n": len(rows), "seconds": seconds}
    for reading in ("loglikelihood", "generate"):
        key = "loglikelihood" if reading == "loglikelihood" else "generated"
        predictions = [r[key] for r in rows]
        result[reading] = {
            "accuracy": accuracy(predictions, gold),
            "macro_f1": macro_f1(predictions, gold, labels=LABELS),
            "predicted": dict(Counter(str(p) for p in predictions)),
            "cites_source": (
                sum("[1]" in r["answer"] for r in rows) / len(rows)
                if reading == "generate" and rows
                else None
            ),
        }
    result["rows"] = rows
    return result


def _perplexity(loss: Any) -> float | None:
    return math.exp(float(loss)) if isinstance(loss, int | float) else None


def evaluate(
    recipe: Recipe, out_dir: Path, *, base_gguf: Path | None, tuned_gguf: Path
) -> dict[str, Any]:
    """Before/after report on the test split; returns it and writes it under ``out_dir/eval``."""
    items = [
        r for r in read_split(out_dir / "data" / "test.jsonl") if r.get("source") == "pubmedqa"
    ]
    if not items:
        raise InputError("the test split holds no PubMedQA items")
    if recipe.evaluate.max_items:
        items = items[: recipe.evaluate.max_items]
    if not tuned_gguf.is_file():
        raise InputError(f"no tuned GGUF at {tuned_gguf}: run 'lumen finetune export' first")
    models: dict[str, dict[str, Any]] = {}
    if base_gguf is not None:
        models["before"] = evaluate_model(base_gguf, items, recipe, "untuned")
    models["after"] = evaluate_model(tuned_gguf, items, recipe, "tuned")
    summary_path = out_dir / SUMMARY
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    report: dict[str, Any] = {
        "recipe": recipe.name,
        "test_items": len(items),
        "gold_labels": dict(Counter(i["label"] for i in items)),
        "models": {k: {n: v for n, v in m.items() if n != "rows"} for k, m in models.items()},
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
    folder = out_dir / EVAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    with (folder / "items.jsonl").open("w", encoding="utf-8") as handle:
        for name, model in models.items():
            for row in model["rows"]:
                handle.write(json.dumps({"model": name, **row}, ensure_ascii=False) + "\n")
    plot = write_plot(folder / "training.png", read_metrics(out_dir), report)
    report["plot"] = str(plot) if plot else None
    return report


def write_plot(path: Path, metrics: list[dict[str, Any]], report: dict[str, Any]) -> Path | None:
    """Training and validation loss by step, and accuracy/macro-F1 before and after."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed: no plot")
        return None
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    curves, bars = figure.subplots(1, 2)
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
    names = list(report["models"])
    groups = ["accuracy (LL)", "macro-F1 (LL)", "accuracy (gen)", "macro-F1 (gen)"]
    width = 0.8 / max(len(names), 1)
    for index, name in enumerate(names):
        model = report["models"][name]
        values = [
            model["loglikelihood"]["accuracy"],
            model["loglikelihood"]["macro_f1"],
            model["generate"]["accuracy"],
            model["generate"]["macro_f1"],
        ]
        xs = [g + (index - (len(names) - 1) / 2) * width for g in range(len(groups))]
        drawn = bars.bar(xs, values, width, label=name)
        bars.bar_label(drawn, labels=[f"{v:.2f}" for v in values], fontsize=7)
    bars.set_xticks(range(len(groups)), groups, rotation=15)
    bars.set_ylim(0, 1)
    bars.set_title(f"PubMedQA test split (n={report['test_items']})")
    bars.legend(fontsize=8)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110)
    return path
