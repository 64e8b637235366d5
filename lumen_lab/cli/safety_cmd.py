"""``lumen lab safety train|eval``: the triage classifier and the safety evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from lumen.cli.common import console, get_settings, handle_errors
from lumen.components.embedding.base import Embedder

safety_app = typer.Typer(
    help="Retrain the triage classifier or run the safety evaluation.", no_args_is_help=True
)

SourcesOption = Annotated[
    Path | None,
    typer.Option("--sources-dir", help="Shared data folder (default: paths.sources_dir)."),
]
BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Embedding backend: sentence-transformers (the classifier is trained with it) "
        "or onnx.",
    ),
]
ThreadsOption = Annotated[
    int, typer.Option("--threads", help="CPU threads for the model (0: all cores).")
]


def _embedder(backend: str, threads: int) -> tuple[Embedder, Path]:
    """The embedder the settings describe, with the backend and threads asked for."""
    from lumen.errors import InputError
    from lumen.factory import build_embedder

    if backend not in ("sentence-transformers", "onnx"):
        raise InputError("--backend must be sentence-transformers or onnx")
    chosen: Literal["onnx", "sentence-transformers"] = (
        "onnx" if backend == "onnx" else "sentence-transformers"
    )
    settings = get_settings()
    embedding = settings.embedding.model_copy(update={"backend": chosen, "threads": threads})
    return build_embedder(embedding, settings.paths.data_dir / "models"), settings.paths.sources_dir


@safety_app.command("train")
@handle_errors
def train(
    out: Annotated[
        Path | None, typer.Option("--out", help="Model file to write (default: the packaged one).")
    ] = None,
    sources_dir: SourcesOption = None,
    backend: BackendOption = "sentence-transformers",
    threads: ThreadsOption = 0,
) -> None:
    """Retrain the triage classifier from the shared safety sets; prints its metrics."""
    from lumen_lab.safety.train import train_triage_classifier

    embedder, default_sources = _embedder(backend, threads)
    metrics = train_triage_classifier(sources_dir or default_sources, embedder, out)
    console.print_json(json.dumps(metrics))


@safety_app.command("eval")
@handle_errors
def evaluate(
    model: Annotated[Path | None, typer.Option("--model", help="Classifier file to load.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results here.")
    ] = None,
    sources_dir: SourcesOption = None,
    backend: BackendOption = "sentence-transformers",
    threads: ThreadsOption = 0,
) -> None:
    """Run the safety evaluation on the held-out split; prints a Markdown report."""
    from lumen.safety.triage import Triage
    from lumen_lab.safety.evaluate import render_markdown, run_safety_eval

    embedder, default_sources = _embedder(backend, threads)
    triage = Triage.load(embedder, model)
    results = run_safety_eval(sources_dir or default_sources, triage)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    console.print(render_markdown(results), markup=False, highlight=False)
