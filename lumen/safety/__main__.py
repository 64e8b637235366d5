"""Command line: ``python -m lumen.safety train|eval``.

``train`` retrains the triage classifier from the shared data and writes the model file;
``eval`` runs the safety evaluation on the held-out split and prints a Markdown report.
Both read the shared data from ``--sources-dir`` (default: ``settings.paths.sources_dir``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from lumen.components.embedding.base import Embedder
from lumen.errors import LumenError
from lumen.settings import load_settings


def _embedder(backend: str, data_dir: Path, threads: int) -> Embedder:
    from lumen.components.model_files import minilm_dir

    if backend == "onnx":
        from lumen.components.embedding.onnx import OnnxEmbedder

        return OnnxEmbedder(minilm_dir(), data_dir / "models", threads=threads)
    from lumen.components.embedding.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(minilm_dir(), threads=threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lumen.safety", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="retrain the triage classifier")
    train.add_argument("--out", type=Path, default=None, help="model file (default: packaged)")
    evaluate = commands.add_parser("eval", help="run the safety evaluation")
    evaluate.add_argument("--model", type=Path, default=None, help="classifier file to load")
    evaluate.add_argument("--json", type=Path, default=None, help="also write the results here")
    for sub in (train, evaluate):
        sub.add_argument("--sources-dir", type=Path, default=None, help="shared data folder")
        sub.add_argument(
            "--backend",
            choices=("sentence-transformers", "onnx"),
            default="sentence-transformers",
            help="embedding backend (the classifier is trained with sentence-transformers)",
        )
        sub.add_argument(
            "--threads", type=int, default=0, help="CPU threads for the model (0: all cores)"
        )
        sub.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    settings = load_settings()
    sources_dir = args.sources_dir or settings.paths.sources_dir
    try:
        embedder = _embedder(args.backend, settings.paths.data_dir, args.threads)
        if args.command == "train":
            from lumen.safety.train import train_triage_classifier

            metrics = train_triage_classifier(sources_dir, embedder, args.out)
            sys.stdout.write(json.dumps(metrics, indent=2) + "\n")
            return 0
        from lumen.safety.evaluate import render_markdown, run_safety_eval
        from lumen.safety.triage import Triage

        triage = Triage.load(embedder, args.model)
        results = run_safety_eval(sources_dir, triage)
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
        sys.stdout.write(render_markdown(results))
        return 0
    except LumenError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
