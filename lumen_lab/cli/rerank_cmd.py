"""``lumen lab retrieval`` and ``lumen lab rerank``: the consumer dev set and the reranker recipe.

Heavy imports (torch, the index) happen inside the commands.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lumen.cli.common import console, get_settings, handle_errors
from lumen.errors import InputError

retrieval_app = typer.Typer(help="Retrieval dev sets.", no_args_is_help=True)
rerank_app = typer.Typer(
    help="The cross-encoder reranker: data, train, export, evaluate.", no_args_is_help=True
)

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override an option, NAME=VALUE (repeatable; see 'options')."),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Work folder (default: <data_dir>/lab/rerank)."),
]
DevsetOpt = Annotated[
    Path,
    typer.Option("--devset", help="Consumer dev set JSONL ('lumen lab retrieval devset')."),
]


def _folder(out: Path | None) -> Path:
    folder = out or get_settings().paths.data_dir / "lab" / "rerank"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _config(sets: list[str] | None, folder: Path) -> Any:
    """Options: those saved in the folder by 'data', then --set overrides."""
    from lumen_lab.rerank.config import load_config

    saved = folder / "config.json"
    base = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else None
    return load_config(sets or (), {k: str(v) for k, v in (base or {}).items()})


def _index(config: Any) -> Any:
    """Lumen's parts over the recipe's index (read-only use)."""
    from lumen.factory import build_lumen
    from lumen.settings import load_settings

    index_dir = Path(config.index_dir)
    if not index_dir.is_dir():
        raise InputError(f"no index at {index_dir}: build one (see docs/reranking.md)")
    os.environ["LUMEN_PATHS__DATA_DIR"] = str(index_dir)
    return build_lumen(load_settings())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@retrieval_app.command("devset")
@handle_errors
def devset(
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write.")],
    seed: Annotated[int, typer.Option(help="Seed of the rewriting and the choice.")] = 13,
    limit: Annotated[int, typer.Option(help="Most questions.")] = 300,
    medquad: Annotated[
        Path | None, typer.Option(help="MedQuAD folder (default: sources_dir/medquad).")
    ] = None,
) -> None:
    """Write consumer-style questions from the dev split's MedQuAD documents."""
    from lumen_lab.retrieval.consumer import build_dev_set, dev_pairs, write_jsonl

    folder = medquad or get_settings().paths.sources_dir / "medquad"
    items = build_dev_set(dev_pairs(folder), seed=seed, limit=limit)
    write_jsonl(items, out)
    console.print(f"{len(items)} questions from {len({i.doc_id for i in items})} documents → {out}")


@rerank_app.command("options")
@handle_errors
def options() -> None:
    """List every recipe option with its default and help."""
    from lumen_lab.rerank.config import describe

    table = Table(title="Reranker options (--set NAME=VALUE)")
    for column in ("option", "default", "help"):
        table.add_column(column)
    for row in describe():
        table.add_row(*row)
    console.print(table)


@rerank_app.command("data")
@handle_errors
def data(set_: SetOpt = None, out: OutOpt = None) -> None:
    """Build the training groups (question, its answer chunk, hard negatives) into OUT."""
    from lumen_lab.rerank.config import medquad_path
    from lumen_lab.rerank.data import build_groups, training_pairs, write_groups
    from lumen_lab.rerank.train import GROUPS

    folder = _folder(out)
    config = _config(set_, folder)
    medquad = medquad_path(config, get_settings().paths.sources_dir)
    pairs, held = training_pairs(medquad, config)
    with _index(config) as lumen, _progress() as bar:
        task = bar.add_task("retrieving hard negatives", total=config.questions)
        groups = build_groups(
            lumen, pairs, config, progress=lambda done, _: bar.update(task, completed=done)
        )
        count = write_groups(groups, folder / GROUPS)
    (folder / "config.json").write_text(json.dumps(config.to_json(), indent=1), encoding="utf-8")
    console.print(
        f"{count} groups → {folder / GROUPS} (held out: {len(held.doc_ids)} documents, "
        f"{len(held.urls)} pages)"
    )


@rerank_app.command("train")
@handle_errors
def train(
    set_: SetOpt = None,
    out: OutOpt = None,
    resume: Annotated[bool, typer.Option(help="Carry on from OUT/checkpoint.pt.")] = False,
) -> None:
    """Train the cross-encoder on OUT/groups.jsonl (checkpoints every few steps)."""
    from lumen_lab.rerank.train import train as run_train

    folder = _folder(out)
    config = _config(set_, folder)
    with _progress() as bar:
        task = bar.add_task("training", total=None)

        def report(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"training loss {loss:.3f}")

        weights = run_train(config, folder, resume=resume, progress=report)
    console.print(f"weights → {weights}")


@rerank_app.command("export")
@handle_errors
def export(
    set_: SetOpt = None,
    out: OutOpt = None,
    install: Annotated[
        bool, typer.Option(help="Also copy the export into the package (lumen/rag/model).")
    ] = False,
) -> None:
    """Export the trained model to int8 ONNX with its tokenizer and a sha256 manifest."""
    from lumen.rag.rerank import default_model_dir
    from lumen_lab.rerank.export import export_onnx
    from lumen_lab.rerank.train import SUMMARY, load_trained

    folder = _folder(out)
    config = _config(set_, folder)
    summary = folder / SUMMARY
    details = json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else {}
    target = folder / "export"
    export_onnx(load_trained(folder, config), target, max_tokens=config.max_tokens, details=details)
    console.print(f"exported → {target}")
    if install:
        packaged = default_model_dir()
        packaged.mkdir(parents=True, exist_ok=True)
        for file in target.iterdir():
            shutil.copyfile(file, packaged / file.name)
        console.print(f"installed → {packaged}")


@rerank_app.command("evaluate")
@handle_errors
def evaluate(
    devset_file: DevsetOpt,
    set_: SetOpt = None,
    out: OutOpt = None,
    model: Annotated[
        Path | None, typer.Option(help="Reranker folder (default: the packaged one).")
    ] = None,
    candidates: Annotated[int, typer.Option(help="Fused chunks the reranker reads.")] = 10,
    report: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Recall@5 and MRR@5 before and after reranking on the benchmark, dev and consumer sets."""
    from lumen.ingest.loaders.medquad import iter_qa_pairs
    from lumen.rag.rerank import Reranker, default_model_dir
    from lumen_lab.rerank.config import medquad_path
    from lumen_lab.retrieval.consumer import read_jsonl
    from lumen_lab.retrieval.evaluate import Query
    from lumen_lab.retrieval.evaluate import evaluate as run_evaluate
    from lumen_lab.retrieval.split import benchmark_pairs

    folder = _folder(out)
    config = _config(set_, folder)
    medquad = medquad_path(config, get_settings().paths.sources_dir)
    items = list(read_jsonl(devset_file))
    bench = benchmark_pairs(iter_qa_pairs(medquad), medquad, keyings=("path",))
    sets = {
        "medquad_benchmark": [Query(f"{p.doc_id}#{p.qid}", p.question, p.url) for p in bench],
        "dev_medquad_questions": [Query(i.id, i.original, i.url) for i in items],
        "dev_consumer": [Query(i.id, i.question, i.url) for i in items],
    }
    packaged = default_model_dir()
    if model is None and not packaged.is_dir():
        console.print(f"no reranker at {packaged}: hybrid retrieval only")
        reranker = None
    else:
        reranker = Reranker(model, threads=config.threads)
    results: dict[str, Any] = {
        "index_dir": str(config.index_dir),
        "model": reranker.manifest.get("training", {}) if reranker else None,
    }
    with _index(config) as lumen:
        for name, queries in sets.items():
            results[name] = run_evaluate(
                lumen.retriever, queries, reranker=reranker, candidates=candidates
            )
            console.print(name, json.dumps(results[name]))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


@retrieval_app.command("qtypes")
@handle_errors
def qtypes(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Model file to write (default: the packaged one)."),
    ] = None,
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation strength.")] = 1.0,
    medquad: Annotated[
        Path | None, typer.Option(help="MedQuAD folder (default: sources_dir/medquad).")
    ] = None,
) -> None:
    """Train the question-type model the heading match uses, on MedQuAD's own questions."""
    from lumen.factory import build_embedder
    from lumen.rag.qtypes import default_model_path
    from lumen_lab.retrieval.qtypes import train_question_types

    settings = get_settings()
    embedder = build_embedder(settings.embedding, settings.paths.data_dir / "models")
    target = out or default_model_path()
    figures = train_question_types(
        medquad or settings.paths.sources_dir / "medquad", embedder, target, c=c
    )
    console.print(json.dumps(figures, indent=1))
    console.print(f"question-type model → {target}")


@retrieval_app.command("corpus")
@handle_errors
def corpus(
    out: Annotated[Path, typer.Option("--out", help="Folder to fill (MedQuAD-shaped).")],
    devset_file: DevsetOpt,
    others: Annotated[int, typer.Option(help="Other documents sampled as distractors.")] = 600,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 7,
    medquad: Annotated[
        Path | None, typer.Option(help="MedQuAD folder (default: sources_dir/medquad).")
    ] = None,
) -> None:
    """Copy the dev set's and the benchmark's documents plus sampled others into OUT."""
    from lumen.ingest.loaders.medquad import iter_qa_pairs
    from lumen_lab.retrieval.consumer import read_jsonl
    from lumen_lab.retrieval.corpus import reduced_corpus
    from lumen_lab.retrieval.split import benchmark_pairs

    folder = medquad or get_settings().paths.sources_dir / "medquad"
    keep = {item.doc_id for item in read_jsonl(devset_file)}
    keep |= {p.doc_id for p in benchmark_pairs(iter_qa_pairs(folder), folder, keyings=("path",))}
    copied = reduced_corpus(folder, out, keep, others=others, seed=seed)
    console.print(f"{len(copied)} documents ({len(keep)} judged) → {out}")
