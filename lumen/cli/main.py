"""``lumen``: ingest sources, ask questions, inspect the index."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
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
    index_settings,
)
from lumen.cli.jobs_cmd import register as register_job_commands
from lumen.cli.plugins import register_plugins
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
register_service_commands(app)
register_job_commands(app)
register_plugins(app)


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

    settings = index_settings(get_settings())
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

            # Without a terminal (make's log, a container) the bar only draws when it ends:
            # a plain line every tenth of the work shows that indexing is under way.
            plain = not err_console.is_terminal
            tenths_shown = 0

            def progress(done: int, total: int) -> None:
                nonlocal tenths_shown
                elapsed = time.perf_counter() - started
                rate = f"{done / elapsed:.0f} chunks/s" if elapsed > 0 and done else ""
                bar.update(writing, completed=done, total=total, rate=rate)
                if plain and total and done * 10 // total > tenths_shown:
                    tenths_shown = done * 10 // total
                    err_console.print(
                        f"indexing into {target}: {done}/{total} chunks, {elapsed:.0f} s"
                        + (f", {rate}" if rate else ""),
                        highlight=False,
                    )

            result = lumen.ingestor.ingest(
                documents,
                collection=target,
                source=source_name,
                progress=progress,
                vocabulary=True,
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
        from lumen.components.llm.registry import with_registered_model

        settings = with_registered_model(settings, model)
    validate_question(question, settings.verify.max_question_chars)
    settings = index_settings(settings)
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
    if answer.searched_for:
        console.print(f"[dim]searched for: {escape(answer.searched_for)}[/]", highlight=False)
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

    settings = index_settings(get_settings())
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


@index_app.command("serve")
@handle_errors
def index_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8100,
    token_env: Annotated[
        str,
        typer.Option(help="Environment variable holding the bearer token the clients send."),
    ] = "LUMEN_VECTOR_STORE__REMOTE_TOKEN",  # noqa: S107 - a variable's name
) -> None:
    """Hold the index in this one process and serve it to API replicas and workers.

    They reach it with vector_store.backend=remote.
    """
    import uvicorn

    from lumen.api.index_app import create_index_app
    from lumen.components.vector_store.factory import open_vector_store

    token = os.environ.get(token_env, "")
    if len(token) < 16:
        raise fail(f"set {token_env} to a random token of at least 16 characters", 2)
    settings = get_settings()
    if settings.vector_store.backend == "remote":
        raise fail("vector_store.backend is remote: this process must hold the index itself", 2)
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_vector_store(settings.vector_store, settings.paths.data_dir)
    app = create_index_app(store, token=token, loopback_only=False)
    console.print(f"Lumen index on http://{host}:{port}", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def main() -> None:
    """Entry point of the ``lumen`` script."""
    app()


if __name__ == "__main__":
    main()
