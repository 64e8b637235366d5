"""Reports of a run: ``results.json`` (the schema), ``summary.md`` and PNG plots."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from lumen_lab.eval.schema import RunResults, TaskResult, validate_results

logger = logging.getLogger(__name__)

PLOTS_DIR = "plots"
_RETRIEVAL_ORDER = ("dense", "bm25", "hybrid")


def write_reports(results: RunResults, out_dir: Path, *, plots: bool = True) -> list[Path]:
    """Validate and write ``results.json``, ``summary.md`` and (if asked) the plots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.loads(results.model_dump_json())
    validate_results(data)
    written = []
    path = out_dir / "results.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
    written.append(path)
    summary = out_dir / "summary.md"
    summary.write_text(render_markdown(results), encoding="utf-8")
    written.append(summary)
    if plots:
        written.extend(write_plots(results, out_dir / PLOTS_DIR))
    return written


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_markdown(results: RunResults) -> str:
    """A human summary: one table over all tasks, then one section per task."""
    lines = [
        f"# Lumen evaluation `{results.run_id}`",
        "",
        f"- model: `{results.model.llm}`; embedder: `{results.model.embedder or '-'}`",
        f"- started {results.started_at}, finished {results.finished_at}, "
        f"{results.timings_s.get('total', 0):.1f} s in all; seed {results.seed}",
        f"- lumen {results.lumen_version}, results schema {results.schema_version}",
        "",
        "## Summary",
        "",
        "| task | condition | scoring | n | primary metric | value | p50 latency (ms) |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for task in results.tasks:
        metric = task.primary_metric or ""
        for cond in task.conditions:
            lines.append(
                f"| {task.name} | {cond.condition} | {cond.scoring or '-'} | {cond.n} | "
                f"{metric} | {_fmt(cond.metrics.get(metric))} | {cond.latency_ms.p50:.0f} |"
            )
    for task in results.tasks:
        lines.extend(["", *_task_section(task)])
    return "\n".join(lines) + "\n"


def _task_section(task: TaskResult) -> list[str]:
    data = task.data
    lines = [
        f"## {task.name}",
        "",
        *([task.description, ""] if task.description else []),
        f"- data: `{data.path}` ({data.format}, sha256 `{data.sha256[:12]}`); "
        f"{data.n_selected} of {data.n_total} items"
        + (" (shuffled with the seed)" if data.shuffled else ""),
    ]
    if task.index is not None:
        index = task.index
        size = (
            f"{index.documents} documents, {index.chunks} chunks"
            if index.documents is not None
            else "size unknown"
        )
        lines.append(
            f"- index: `{index.path}` ({'built by the harness' if index.owned else 'reused'}; "
            f"{size}; collections {', '.join(index.collections)})"
            + (f": {index.note}" if index.note else "")
        )
    lines.append(f"- {task.seconds:.1f} s")
    metrics = list(dict.fromkeys(m for c in task.conditions for m in c.metrics))
    lines.extend(
        [
            "",
            "| condition | scoring | n | errors | " + " | ".join(metrics) + " | p50 / p95 ms |",
            "|---|---|---:|---:|" + "---:|" * len(metrics) + "---:|",
        ]
    )
    for cond in task.conditions:
        values = " | ".join(_fmt(cond.metrics.get(m)) for m in metrics)
        lines.append(
            f"| {cond.condition} | {cond.scoring or '-'} | {cond.n} | {cond.n_errors} | "
            f"{values} | {cond.latency_ms.p50:.0f} / {cond.latency_ms.p95:.0f} |"
        )
    for cond in task.conditions:
        if not cond.subtasks:
            continue
        names = list(dict.fromkeys(m for v in cond.subtasks.values() for m in v))
        lines.extend(
            [
                "",
                f"Per subtask, {cond.condition}:",
                "",
                "| subtask | " + " | ".join(names) + " |",
                "|---|" + "---:|" * len(names),
            ]
        )
        for sub, values_by_name in cond.subtasks.items():
            cells = " | ".join(_fmt(values_by_name.get(m)) for m in names)
            lines.append(f"| {sub} | {cells} |")
    if task.warnings:
        lines.extend(["", "Warnings:", "", *[f"- {w}" for w in task.warnings]])
    return lines


# --- plots -----------------------------------------------------------------------------------


def write_plots(results: RunResults, folder: Path) -> list[Path]:
    """accuracy.png, retrieval.png and latency.png, for whichever have data."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed: no plots")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("accuracy.png", _accuracy_plot),
        ("retrieval.png", _retrieval_plot),
        ("latency.png", _latency_plot),
    ):
        figure = Figure(figsize=(9, 4.8), layout="constrained")
        if not draw(figure, results.tasks):
            continue
        FigureCanvasAgg(figure)
        path = folder / name
        figure.savefig(path, dpi=110)
        written.append(path)
    return written


def _grouped_bars(
    axes: object, groups: list[str], series: dict[str, list[float | None]], ylabel: str
) -> None:
    from matplotlib.axes import Axes

    if not isinstance(axes, Axes):
        raise TypeError("expected matplotlib Axes")
    count = max(len(series), 1)
    width = 0.8 / count
    for index, (label, values) in enumerate(series.items()):
        xs = [g + (index - (count - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = axes.bar(xs, heights, width, label=label)
        axes.bar_label(
            bars, labels=[f"{v:.2f}" if v is not None else "" for v in values], fontsize=7
        )
    axes.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    axes.set_ylabel(ylabel)
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)


def _accuracy_plot(figure: object, tasks: Sequence[TaskResult]) -> bool:
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        raise TypeError("expected matplotlib Figure")
    chosen = [t for t in tasks if t.primary_metric in ("accuracy", "acc_norm")]
    if not chosen:
        return False
    modes = list(dict.fromkeys(c.condition for t in chosen for c in t.conditions))
    series: dict[str, list[float | None]] = {
        mode: [
            next(
                (
                    c.metrics.get(t.primary_metric or "")
                    for c in t.conditions
                    if c.condition == mode
                ),
                None,
            )
            for t in chosen
        ]
        for mode in modes
    }
    axes = figure.subplots()
    _grouped_bars(axes, [t.name for t in chosen], series, "accuracy")
    axes.set_title("Accuracy per task and mode")
    return True


def _retrieval_plot(figure: object, tasks: Sequence[TaskResult]) -> bool:
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        raise TypeError("expected matplotlib Figure")
    chosen = [t for t in tasks if t.kind == "retrieval"]
    if not chosen:
        return False
    axes_list = figure.subplots(1, len(chosen), squeeze=False)[0]
    for axes, task in zip(axes_list, chosen, strict=True):
        metrics = list(dict.fromkeys(m for c in task.conditions for m in c.metrics))
        conditions = sorted(
            task.conditions,
            key=lambda c: (
                _RETRIEVAL_ORDER.index(c.condition) if c.condition in _RETRIEVAL_ORDER else 99
            ),
        )
        series = {c.condition: [c.metrics.get(m) for m in metrics] for c in conditions}
        _grouped_bars(axes, metrics, series, "score")
        axes.set_title(f"{task.name}: retrieval metrics per retriever", fontsize=10)
    return True


def _latency_plot(figure: object, tasks: Sequence[TaskResult]) -> bool:
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        raise TypeError("expected matplotlib Figure")
    labels: list[str] = []
    samples: list[list[float]] = []
    for task in tasks:
        for cond in task.conditions:
            values = [r.latency_ms for r in cond.items if r.latency_ms > 0]
            if values:
                labels.append(f"{task.name}\n{cond.condition}")
                samples.append(values)
    if not samples:
        return False
    axes = figure.subplots()
    axes.boxplot(samples, tick_labels=labels, showfliers=True)
    axes.set_yscale("log")
    axes.set_ylabel("latency per item (ms, log scale)")
    axes.set_title("Latency distribution per task and condition")
    axes.tick_params(axis="x", labelsize=7, rotation=30)
    axes.grid(axis="y", alpha=0.3)
    return True
