"""``lumen finetune``: prepare data, train LoRA/QLoRA adapters, merge, export, evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lumen.cli.common import console, get_settings, handle_errors

finetune_app = typer.Typer(
    help="Fine-tune the answer model: prepare, train, merge, export, evaluate (YAML recipes).",
    no_args_is_help=True,
)

RecipeArg = Annotated[
    str,
    typer.Argument(
        help="A recipe file, or a built-in recipe: smollm2-cpu-lora, biomistral-7b-qlora."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override an option, SECTION.OPTION=VALUE (repeatable; see 'options')."
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Output folder (default: output_dir, else <data_dir>/finetune/NAME)."
    ),
]


def _load(recipe: str, sets: list[str] | None, out: Path | None) -> tuple[Any, Path]:
    from lumen_lab.finetune.config import load_recipe

    loaded = load_recipe(recipe, sets or ())
    if out is not None:
        folder = out
    elif loaded.output_dir:
        folder = Path(loaded.output_dir).expanduser()
    else:
        folder = get_settings().paths.data_dir / "finetune" / loaded.name
    folder.mkdir(parents=True, exist_ok=True)
    return loaded, folder


def _show(data: dict[str, Any]) -> None:
    console.print_json(json.dumps(data, default=str))


@finetune_app.command("options")
@handle_errors
def options() -> None:
    """List every recipe option with its default and help."""
    from lumen_lab.finetune.config import describe_options

    table = Table(title="Recipe options (--set SECTION.OPTION=VALUE)")
    for column in ("option", "default", "help"):
        table.add_column(column)
    for name, default, text in describe_options():
        table.add_row(name, default, text)
    console.print(table)


@finetune_app.command("prepare")
@handle_errors
def prepare(recipe: RecipeArg, set_: SetOpt = None, out: OutOpt = None) -> None:
    """Build chat-format train/validation/test JSONL and a manifest under OUT/data."""
    from lumen_lab.finetune.models import load_tokenizer, resolve_base
    from lumen_lab.finetune.prepare import prepare as run_prepare

    loaded, folder = _load(recipe, set_, out)
    tokenizer = load_tokenizer(resolve_base(loaded.model))
    manifest = run_prepare(loaded, folder / "data", tokenizer)
    for name, split in manifest["splits"].items():
        console.print(
            f"{name}: {split['count']} examples {split['by_source']} labels {split['labels']}",
            highlight=False,
        )
    console.print(f"written to {folder / 'data'}", highlight=False)


@finetune_app.command("train")
@handle_errors
def train(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out: OutOpt = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in OUT.")
    ] = False,
) -> None:
    """Train the adapter (checks the model, the data and the disk first)."""
    from lumen_lab.finetune.train import train as run_train

    loaded, folder = _load(recipe, set_, out)
    summary = run_train(loaded, folder, resume=resume)
    _show({k: v for k, v in summary.items() if k != "recipe"})


@finetune_app.command("merge")
@handle_errors
def merge(recipe: RecipeArg, set_: SetOpt = None, out: OutOpt = None) -> None:
    """Merge the adapter into the base model (a Hugging Face folder, OUT/merged)."""
    from lumen_lab.finetune.merge import merge as run_merge

    loaded, folder = _load(recipe, set_, out)
    console.print(f"merged model: {run_merge(loaded, folder)}", highlight=False)


def _export(loaded: Any, folder: Path, register: bool) -> Path:
    from lumen.components.llm.registry import register_model, registry_path
    from lumen_lab.finetune.export import export_gguf
    from lumen_lab.finetune.merge import MERGED

    settings = get_settings()
    name = loaded.export.register_as or loaded.name
    gguf = export_gguf(
        folder / MERGED,
        folder / "gguf",
        name,
        loaded.export,
        settings.paths.data_dir / "llama.cpp-convert",
    )
    console.print(f"GGUF: {gguf}", highlight=False)
    if register:
        register_model(
            registry_path(settings),
            name,
            gguf,
            recipe=loaded.name,
            base=loaded.model.base,
            quantization=loaded.export.quantization,
            output_dir=str(folder),
            verdict_first=loaded.export.verdict_first,
            neighbours=loaded.evaluate.neighbours,
        )
        console.print(f"registered as {name!r}: lumen ask --model {name} ...", highlight=False)
    return gguf


@finetune_app.command("export")
@handle_errors
def export(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out: OutOpt = None,
    register: Annotated[
        bool, typer.Option(help="Add the GGUF to the model registry (for 'ask --model').")
    ] = True,
) -> None:
    """Convert OUT/merged to GGUF f16, quantise (Q4_K_M) and register it."""
    loaded, folder = _load(recipe, set_, out)
    _export(loaded, folder, register)


def _tuned_gguf(loaded: Any, folder: Path) -> Path:
    name = loaded.export.register_as or loaded.name
    return folder / "gguf" / f"{name}.{loaded.export.quantization}.gguf"


def _register_offsets(loaded: Any, folder: Path, gguf: Path, offsets: dict[str, float]) -> None:
    """Store the verdict offsets with the registered tuned model when asked and evaluated."""
    from lumen.components.llm.registry import load_registry, registry_path, update_model

    name = loaded.export.register_as or loaded.name
    path = registry_path(get_settings())
    entry = load_registry(path).get(name)
    shown = ", ".join(f"{label} {value:+g}" for label, value in offsets.items())
    if not loaded.evaluate.register_offsets:
        console.print(
            f"verdict offsets (reported, not registered; evaluate.register_offsets): {shown}",
            highlight=False,
        )
        return
    if entry is None or Path(str(entry.get("gguf"))) != gguf.resolve():
        console.print(f"verdict offsets (not registered): {shown}", highlight=False)
        return
    update_model(path, name, verdict_offsets=offsets, calibrated_by=str(folder / "eval"))
    console.print(f"verdict offsets registered with {name!r}: {shown}", highlight=False)


def _run_evaluate(loaded: Any, folder: Path, before: bool, tuned: Path | None) -> None:
    from lumen_lab.finetune.evaluate import READINGS, deployed_offsets, result_groups
    from lumen_lab.finetune.evaluate import evaluate as run_evaluate
    from lumen_lab.finetune.models import resolve_base

    base = resolve_base(loaded.model)
    base_gguf = base.path if (before and base.gguf_file) else None
    report = run_evaluate(
        loaded, folder, base_gguf=base_gguf, tuned_gguf=tuned or _tuned_gguf(loaded, folder)
    )
    table = Table(title="PubMedQA, held-out items")
    for column in ("items", "context", "model", "reading", "accuracy", "macro-F1", "predicted"):
        table.add_column(column)
    for items, context, models in result_groups(report):
        for name, model in models.items():
            for reading in READINGS:
                if reading not in model:
                    continue
                scores = model[reading]
                table.add_row(
                    items,
                    context,
                    name,
                    reading,
                    f"{scores['accuracy']:.3f}",
                    f"{scores['macro_f1']:.3f}",
                    json.dumps(scores["predicted"]),
                )
    console.print(table)
    ppl = report["validation_perplexity"]
    console.print(
        f"validation perplexity: before {ppl['before'] or float('nan'):.3f}, "
        f"after {ppl['after'] or float('nan'):.3f}; report: {folder / 'eval' / 'report.json'}",
        highlight=False,
    )
    offsets = deployed_offsets(report)
    if offsets is not None:
        _register_offsets(loaded, folder, tuned or _tuned_gguf(loaded, folder), offsets)
    if report.get("mirage"):
        for name, scores in report["mirage"]["models"].items():
            figures = ", ".join(
                f"{task.removeprefix('mirage_')} {value:.3f}"
                for task, value in scores.items()
                if value is not None
            )
            console.print(f"MIRAGE closed-book, {name}: {figures}", highlight=False)


@finetune_app.command("evaluate")
@handle_errors
def evaluate(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out: OutOpt = None,
    before: Annotated[
        bool, typer.Option(help="Also evaluate the untuned base (when it is a GGUF).")
    ] = True,
    tuned: Annotated[
        Path | None, typer.Option(help="The tuned GGUF (default: the exported one in OUT).")
    ] = None,
) -> None:
    """Before/after PubMedQA accuracy and macro-F1 on the test split, perplexity, plot."""
    loaded, folder = _load(recipe, set_, out)
    _run_evaluate(loaded, folder, before, tuned)


@finetune_app.command("run")
@handle_errors
def run_all(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out: OutOpt = None,
    resume: Annotated[bool, typer.Option("--resume", help="Resume training.")] = False,
) -> None:
    """prepare, train, merge, export and evaluate in one go."""
    from lumen_lab.finetune.merge import merge as run_merge
    from lumen_lab.finetune.models import load_tokenizer, resolve_base
    from lumen_lab.finetune.prepare import prepare as run_prepare
    from lumen_lab.finetune.train import train as run_train

    loaded, folder = _load(recipe, set_, out)
    if not resume:
        run_prepare(loaded, folder / "data", load_tokenizer(resolve_base(loaded.model)))
    summary = run_train(loaded, folder, resume=resume)
    _show({k: v for k, v in summary.items() if k != "recipe"})
    run_merge(loaded, folder)
    _export(loaded, folder, True)
    _run_evaluate(loaded, folder, True, None)
