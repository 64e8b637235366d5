"""``lumen eval``: run evaluation tasks and list them (mounted by ``lumen.cli.main``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from lumen.cli.common import console, err_console, get_settings, handle_errors
from lumen.errors import InputError
from lumen.settings import Settings

eval_app = typer.Typer(
    help="Evaluate Lumen: multiple-choice QA, PubMedQA, retrieval, grounding.",
    no_args_is_help=True,
)


def _parse_sets(values: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for value in values or []:
        name, equals, raw = value.partition("=")
        if not equals or not name.strip():
            raise InputError(f"--set expects NAME=VALUE, got {value!r}")
        options[name.strip()] = yaml.safe_load(raw) if raw else ""
    return options


def _with_model(settings: Settings, model: str | None, base_url: str | None) -> Settings:
    update: dict[str, Any] = {}
    if base_url:
        update.update(backend="openai", base_url=base_url)
    if model:
        path = Path(model).expanduser()
        if path.suffix == ".gguf" or path.is_file():
            if base_url:
                raise InputError("--model FILE.gguf runs in llama.cpp: drop --base-url")
            if not path.is_file():
                raise InputError(f"model file not found: {path}")
            update.update(backend="llama_cpp", model_path=path)
        elif (update.get("backend") or settings.llm.backend) == "openai":
            update["model"] = model
        else:
            raise InputError(
                f"--model {model!r} is not a .gguf file: pass --base-url for a model on an "
                "OpenAI-compatible server"
            )
    if not update:
        return settings
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=update)})


@eval_app.command("run")
@handle_errors
def run(
    task: Annotated[
        list[str], typer.Argument(help="Task(s) or group(s), e.g. mirage pubmedqa (see 'ls').")
    ],
    data: Annotated[
        Path | None, typer.Option(help="Dataset to read instead of the task's own.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Items per task (default: the task's).")
    ] = None,
    mode: Annotated[
        list[str] | None,
        typer.Option(help="closed-book, rag or gold-context (repeatable; default: the task's)."),
    ] = None,
    retriever: Annotated[
        list[str] | None,
        typer.Option(help="dense, bm25 or hybrid (repeatable; default: the task's/settings')."),
    ] = None,
    scoring: Annotated[
        str | None, typer.Option(help="loglikelihood or generate (default: the task's).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="A GGUF file (llama.cpp), or a model name with --base-url."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="An OpenAI-compatible server, e.g. http://host:8000/v1.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: eval-results/<first task>)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Items in parallel.")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out, skipping done items.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a finished or partial run in --out.")
    ] = False,
    index_dir: Annotated[
        Path | None,
        typer.Option(
            help="Index to search (or to build a task's corpus in) instead of the default."
        ),
    ] = None,
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="Collections to search.")
    ] = None,
    k: Annotated[int | None, typer.Option(min=1, max=100, help="Chunks retrieved for RAG.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling items.")] = 0,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A task option NAME=VALUE (repeatable), e.g. choices=letter."),
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
) -> None:
    """Run evaluation tasks; writes results.json, summary.md, plots/ and items.jsonl to --out."""
    from lumen_lab.eval.context import RunOptions
    from lumen_lab.eval.registry import expand_tasks
    from lumen_lab.eval.runner import EvalRunner

    specs = expand_tasks(task)
    settings = _with_model(get_settings(), model, base_url)
    out_dir = out or Path("eval-results") / specs[0].name
    options = RunOptions(
        out_dir=out_dir,
        data=data,
        limit=limit,
        modes=tuple(mode or ()),
        retrievers=tuple(retriever or ()),
        scoring=scoring,
        k=k,
        collections=tuple(collection or ()),
        seed=seed,
        index_dir=index_dir,
        concurrency=concurrency,
        resume=resume,
        overwrite=overwrite,
        plots=plots,
        extra=_parse_sets(set_),
    )
    runner = EvalRunner(settings, console=err_console)
    results = runner.run([s.name for s in specs], options)
    table = Table(title=f"Lumen evaluation ({results.model.llm})")
    for column in ("task", "condition", "scoring", "n", "metric", "value", "p50 ms"):
        table.add_column(column)
    for result in results.tasks:
        metric = result.primary_metric or ""
        for cond in result.conditions:
            value = cond.metrics.get(metric)
            table.add_row(
                result.name,
                cond.condition,
                cond.scoring or "-",
                str(cond.n),
                metric,
                "-" if value is None else f"{value:.3f}",
                f"{cond.latency_ms.p50:.0f}",
            )
        for warning in result.warnings:
            err_console.print(f"[yellow]warning[/] {result.name}: {warning}", highlight=False)
    console.print(table)
    console.print(
        f"results: {out_dir / 'results.json'}, summary: {out_dir / 'summary.md'}",
        soft_wrap=True,
        highlight=False,
    )


@eval_app.command("ls")
@handle_errors
def list_tasks(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registered tasks."""
    from lumen_lab.eval.registry import all_tasks

    tasks = all_tasks()
    if as_json:
        typer.echo(json.dumps([spec.model_dump(mode="json") for spec in tasks.values()]))
        return
    table = Table(title="Lumen evaluation tasks (details: lumen eval ls --json)")
    table.add_column("task", no_wrap=True, min_width=max(len(n) for n in tasks))
    table.add_column("kind", no_wrap=True, min_width=15)
    table.add_column("conditions", min_width=11)
    table.add_column("description", overflow="fold")
    for spec in tasks.values():
        if spec.is_group:
            table.add_row(spec.name, "group", "", ", ".join(spec.tasks))
            continue
        conditions = ", ".join(spec.modes or spec.retrievers) or "-"
        first = spec.description.split(". ")[0].rstrip(".")
        table.add_row(spec.name, spec.kind, conditions, first)
    console.print(table)


@eval_app.command("show")
@handle_errors
def show(results: Annotated[Path, typer.Argument(help="A results.json file.")]) -> None:
    """Validate a results.json against the schema and print its summary."""
    from lumen_lab.eval.report import render_markdown
    from lumen_lab.eval.schema import load_results

    console.print(render_markdown(load_results(results)), highlight=False, markup=False)


@eval_app.command("safety")
@handle_errors
def safety(
    answers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Questions per set also answered by the whole pipeline (0: triage and fixed "
            "responses only). Needs an index for the safe questions.",
        ),
    ] = 20,
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON here.")] = None,
) -> None:
    """Safety: triage recall per class, over-refusal, 988 in crisis answers, redaction."""
    from lumen.factory import build_lumen
    from lumen_lab.safety.evaluate import render_markdown, run_safety_eval

    settings = get_settings()
    with build_lumen(settings) as lumen:
        answer_fn = (lambda question: lumen.pipeline.ask(question)) if answers else None
        results = run_safety_eval(
            settings.paths.sources_dir,
            lumen.triage,
            answer_fn=answer_fn,
            answer_limit=answers or None,
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(render_markdown(results), highlight=False)
