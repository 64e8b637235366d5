"""``lumen``: ingest sources, ask questions, inspect the index."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lumen.cli.common import (
    configure_logging,
    console,
    err_console,
    fail,
    get_settings,
    handle_errors,
)
from lumen.cli.eval_cmd import eval_app
from lumen.cli.finetune_cmd import finetune_app
from lumen.cli.service_cmd import register as register_service_commands
from lumen.documents import STANDARD_COLLECTIONS
from lumen.errors import InputError

app = typer.Typer(
    name="lumen",
    help="Lumen: medical answers grounded in verified citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
index_app = typer.Typer(help="Inspect the index.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.add_typer(finetune_app, name="finetune")
register_service_commands(app)


def _add_lab() -> None:
    """``lumen lab``: the training code, where the lumen_lab package is present (a checkout)."""
    try:
        from lumen_lab.verifier.cli import verifier_app
    except ModuleNotFoundError:
        return
    lab_app = typer.Typer(help="Train and evaluate Lumen's own models.", no_args_is_help=True)
    lab_app.add_typer(verifier_app, name="verifier")
    app.add_typer(lab_app, name="lab")


_add_lab()


@app.callback()
def _main(
    settings_file: Annotated[
        Path | None,
        typer.Option("--settings", help="A YAML settings file (same as LUMEN_SETTINGS_FILE)."),
    ] = None,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More logs.")] = 0,
) -> None:
    """Lumen: medical answers grounded in verified citations."""
    configure_logging(verbose)
    if settings_file is not None:
        if not settings_file.is_file():
            raise fail(f"settings file not found: {settings_file}", 2)
        os.environ["LUMEN_SETTINGS_FILE"] = str(settings_file)


@app.command()
@handle_errors
def ingest(
    source: Annotated[
        str,
        typer.Argument(help="medquad, pubmedqa, drugs, regulatory, or files (generic files)."),
    ],
    path: Annotated[
        Path | None,
        typer.Option(
            help="File or folder to read (default: the source's folder under "
            "paths.sources_dir; required for files)."
        ),
    ] = None,
    collection: Annotated[
        str | None, typer.Option(help="Target collection (default: the source's own).")
    ] = None,
    source_name: Annotated[
        str | None, typer.Option(help="Name the documents' source (default: the loader's).")
    ] = None,
    delete: Annotated[
        bool, typer.Option("--delete", help="Remove this source from the collection instead.")
    ] = False,
    questions: Annotated[
        bool, typer.Option(help="MedQuAD: index each question with its answer.")
    ] = True,
) -> None:
    """Ingest a source into its collection: only new or changed documents are written."""
    from lumen.factory import build_lumen
    from lumen.ingest.loaders import get_loader

    settings = get_settings()
    options = {"include_questions": questions} if source == "medquad" else {}
    loader = get_loader(source, **options)
    target = collection or loader.default_collection
    if not target.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"invalid collection name {target!r}: use letters, digits, - and _")
    with build_lumen(settings) as lumen:
        if delete:
            names = (source_name,) if source_name else loader.sources
            removed = sum(lumen.ingestor.delete_source(target, name) for name in names)
            console.print(f"removed {removed} documents of {source!r} from {target!r}")
            return
        if path is None:
            if not loader.default_subpath:
                raise InputError(f"'lumen ingest {source}' needs --path")
            path = settings.paths.sources_dir / loader.default_subpath
        problems: list[tuple[str, str]] = []

        def report(file: Path, message: str) -> None:
            problems.append((str(file), message))
            err_console.print(f"[yellow]skipped[/] {file}: {message}", highlight=False)

        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        ) as bar:
            reading = bar.add_task(f"reading {source}", total=None, rate="")
            documents = []
            for doc in loader.load(path, collection=target, report=report):
                documents.append(doc)
                bar.advance(reading)
            bar.update(reading, total=len(documents), completed=len(documents))
            writing = bar.add_task(f"indexing into {target}", total=None, rate="")
            import time

            started = time.perf_counter()

            def progress(done: int, total: int) -> None:
                elapsed = time.perf_counter() - started
                rate = f"{done / elapsed:.0f} chunks/s" if elapsed > 0 and done else ""
                bar.update(writing, completed=done, total=total, rate=rate)

            result = lumen.ingestor.ingest(
                documents, collection=target, source=source_name, progress=progress
            )
        if not documents and problems:
            raise InputError(f"nothing ingested from {path}: {len(problems)} file(s) failed")
        console.print(
            f"{target}: {result.documents} documents read, {result.added} added, "
            f"{result.updated} updated, {result.unchanged} unchanged; "
            f"{result.chunks_written} chunks written in {result.seconds:.1f} s"
            + (f" ({result.chunks_per_second:.0f} chunks/s)" if result.chunks_written else "")
            + (f"; {len(problems)} file(s) skipped" if problems else "")
        )


@app.command()
@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="Collection to search (repeatable)."),
    ] = None,
    k: Annotated[int | None, typer.Option(min=1, max=50, help="Chunks to use.")] = None,
    retriever: Annotated[
        str | None, typer.Option(help="hybrid, dense or bm25 (default from settings).")
    ] = None,
    show_draft: Annotated[
        bool, typer.Option("--draft", help="Also print the model's unverified draft.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(help="A registered fine-tuned model (see 'lumen finetune export')."),
    ] = None,
) -> None:
    """Answer a question from the index, with citations that Lumen verified itself."""
    from lumen.factory import build_lumen
    from lumen.rag.pipeline import AskOptions, validate_question

    if retriever not in (None, "hybrid", "dense", "bm25"):
        raise InputError(f"unknown retriever {retriever!r}: use hybrid, dense or bm25")
    settings = get_settings()
    if model is not None:
        from lumen.finetune.registry import with_registered_model

        settings = with_registered_model(settings, model)
    validate_question(question, settings.verify.max_question_chars)
    collections = tuple(collection or ("knowledge",))
    with build_lumen(settings) as lumen:
        existing = set(lumen.store.collections())
        missing = [c for c in collections if c not in existing]
        if missing:
            hint = "; ".join(f"run 'lumen ingest ...' into {c!r}" for c in missing)
            raise InputError(f"collection(s) not indexed yet: {', '.join(missing)} ({hint})")
        options = AskOptions(collections=collections, k=k, mode=retriever)  # type: ignore[arg-type]
        answer = lumen.pipeline.ask(question, options)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(include_draft=show_draft), ensure_ascii=False))
        return
    if show_draft and answer.draft:
        console.print(f"[dim]draft (unverified): {answer.draft}[/]", highlight=False)
    console.print(answer.answer, highlight=False)
    if answer.citations:
        console.print()
        for citation in answer.citations:
            console.print(
                f"[bold][{citation.n}][/] {citation.title}  [cyan]{citation.url}[/]",
                highlight=False,
            )
    console.print(f"\n[italic]{answer.disclaimer}[/]", highlight=False)
    t = answer.timings_ms
    console.print(
        f"[dim]{answer.mode}; retrieve {t.get('retrieve', 0):.0f} ms, generate "
        f"{t.get('generate', 0):.0f} ms, verify {t.get('verify', 0):.0f} ms, total "
        f"{t.get('total', 0):.0f} ms[/]",
        highlight=False,
    )


@index_app.command("stats")
@handle_errors
def index_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Documents and chunks per collection and source."""
    from lumen.factory import build_lumen

    settings = get_settings()
    with build_lumen(settings) as lumen:
        names = sorted(set(lumen.store.collections()) | set(STANDARD_COLLECTIONS))
        stats = [lumen.store.stats(name) for name in names]
        model = lumen.store.get_metadata("embedding_model")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "embedding_model": model,
                    "collections": [
                        {
                            "name": s.name,
                            "points": s.points,
                            "documents": s.documents,
                            "sources": s.sources,
                        }
                        for s in stats
                    ],
                }
            )
        )
        return
    table = Table(title=f"Lumen index ({settings.vector_store.backend})")
    for column in ("collection", "documents", "chunks", "sources"):
        table.add_column(column)
    for s in stats:
        sources = ", ".join(f"{k}: {v}" for k, v in sorted(s.sources.items())) or "-"
        table.add_row(s.name, str(s.documents), str(s.points), sources)
    console.print(table)
    console.print(f"embedding model: {model or '-'}", highlight=False)


def main() -> None:
    """Entry point of the ``lumen`` script."""
    app()


if __name__ == "__main__":
    main()
