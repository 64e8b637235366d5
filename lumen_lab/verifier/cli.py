"""``lumen lab verifier``: build the data, train, export and evaluate the entailment verifier.

The steps, in order (each reads the previous one's output under ``--work``)::

    lumen lab verifier build-data   # PubMedQA dev split by pmid + MedQuAD → data/
    lumen lab verifier train        # → run/final (checkpoints in run/, --resume)
    lumen lab verifier export       # int8 ONNX + threshold from validation → export/
    lumen lab verifier evaluate     # dev report: bench/results/verifier-dev.{json,png}
    lumen lab verifier install      # copy export/ into lumen/models/verifier

``lumen lab verifier recover`` rebuilds a run's ``final/`` from an export (dequantised weights)
where the run's own checkpoint was not kept, so that it can be exported again.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lumen_lab.verifier.data import REALISTIC_KINDS

verifier_app = typer.Typer(
    help="The entailment verifier: build-data, train, export, evaluate, install.",
    no_args_is_help=True,
)

_REPO = Path(__file__).resolve().parents[2]
WorkOption = Annotated[
    Path, typer.Option("--work", help="Working folder for data, checkpoints and exports.")
]
_DEFAULT_WORK = _REPO / "var" / "verifier"
#: The threshold's negatives: the realistic kinds except SmolLM2's (its style is easy to spot).
_CALIBRATION_KINDS = tuple(k for k in REALISTIC_KINDS if k != "llm_opposite")


def _data_dir() -> Path:
    configured = os.environ.get("LUMEN_PATHS__SOURCES_DIR")
    return Path(configured) if configured else _REPO.parent / "shared" / "data"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@verifier_app.command("build-data")
def build_data(
    work: WorkOption = _DEFAULT_WORK,
    seed: Annotated[int, typer.Option(help="Seed of the split and of the rewrites.")] = 13,
    dev: Annotated[int, typer.Option(help="PubMedQA items held out for reporting.")] = 100,
    validation: Annotated[int, typer.Option(help="Items held out for the threshold.")] = 50,
    medquad_docs: Annotated[int, typer.Option(help="MedQuAD documents sampled.")] = 150,
    llm_items: Annotated[
        int, typer.Option(help="New SmolLM2 conclusions to generate (-1: all; cached reused).")
    ] = 0,
    neighbours: Annotated[
        int, typer.Option(help="Other abstracts' conclusions per training item (negatives).")
    ] = 1,
) -> None:
    """Split PubMedQA dev items by pmid, then write train/validation/dev pairs."""
    from lumen_lab.verifier.data import build_dataset, save_dataset

    data = _data_dir()
    if not (data / "pubmedqa").is_dir():
        _fail(f"no pubmedqa folder under {data} (set LUMEN_PATHS__SOURCES_DIR)")
    dataset = build_dataset(
        data,
        work / "cache",
        seed=seed,
        dev=dev,
        validation=validation,
        medquad_docs=medquad_docs,
        llm_items=None if llm_items < 0 else llm_items,
        train_neighbours=neighbours,
    )
    manifest = save_dataset(dataset, work / "data")
    typer.echo(
        json.dumps({"sha256": manifest["sha256"], "composition": manifest["composition"]}, indent=1)
    )


@verifier_app.command("train")
def train_cmd(
    work: WorkOption = _DEFAULT_WORK,
    epochs: Annotated[float, typer.Option(help="Passes over the training pairs.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 16,
    learning_rate: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 8e-5,
    head_learning_rate: Annotated[
        float, typer.Option(help="Peak learning rate of the new head (0: as the encoder).")
    ] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Tokens of sentence + evidence.")] = 192,
    max_pairs: Annotated[int, typer.Option(help="Train on a sample of this many (0: all).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 13,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    freeze_layers: Annotated[int, typer.Option(help="Lower layers kept frozen.")] = 3,
    init_from: Annotated[
        Path | None, typer.Option(help="Continue from an earlier run's final/ folder.")
    ] = None,
    run: Annotated[str, typer.Option(help="Run folder name under --work.")] = "run",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint.")] = False,
    keep_pooler: Annotated[
        bool, typer.Option("--keep-pooler", help="Keep MiniLM's pooler (default: identity).")
    ] = False,
    all_pairs: Annotated[
        bool, typer.Option("--all-pairs", help="Do not sample kinds down to KIND_CAPS.")
    ] = False,
    rank_weight: Annotated[
        float,
        typer.Option(help="Weight of the within-abstract ranking loss (0: off)."),
    ] = 0.0,
) -> None:
    """Train the cross-encoder from all-MiniLM-L6-v2's weights."""
    from lumen.components.model_files import minilm_dir
    from lumen_lab.verifier.train import TrainConfig, train

    if not (work / "data" / "train.jsonl").exists():
        _fail(f"no training data in {work / 'data'}: run build-data first")
    config = TrainConfig(
        data_dir=work / "data",
        out_dir=work / run,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        head_learning_rate=head_learning_rate,
        max_tokens=max_tokens,
        max_pairs=max_pairs,
        seed=seed,
        threads=threads,
        freeze_layers=freeze_layers,
        init_from=init_from,
        reset_pooler=not keep_pooler,
        capped=not all_pairs,
        rank_weight=rank_weight,
    )
    train(config, minilm_dir(), resume=resume)


def _verifier_for(folder: Path, embedder: Any) -> Any:
    from lumen.components.embedding.bm25 import Bm25Encoder
    from lumen.rag.entailment import EntailmentModel
    from lumen.rag.verify import Verifier

    return Verifier(embedder, Bm25Encoder(), entailment=EntailmentModel(folder))


def _embedder() -> Any:
    from lumen.components.embedding.onnx import OnnxEmbedder
    from lumen.components.model_files import minilm_dir

    return OnnxEmbedder(minilm_dir(), Path.home() / ".cache" / "lumen-test")


def _questions() -> dict[str, str]:
    from lumen_lab.verifier.data import load_items

    return {i.pmid: i.question for i in load_items(_data_dir())}


@verifier_app.command("export")
def export_cmd(
    work: WorkOption = _DEFAULT_WORK,
    max_tokens: Annotated[
        int, typer.Option(help="Tokens of sentence + evidence at run time.")
    ] = 256,
    max_false_accept: Annotated[
        float, typer.Option(help="Threshold: hallucinated validation sentences kept at most.")
    ] = 0.10,
    run: Annotated[str, typer.Option(help="Run folder name under --work.")] = "run",
    out: Annotated[
        Path | None, typer.Option(help="Export folder (default: export/ under --work).")
    ] = None,
) -> None:
    """Export to int8 ONNX, check it against PyTorch, pick the threshold on validation."""
    import numpy as np

    from lumen_lab.verifier.data import read_pairs
    from lumen_lab.verifier.evaluate import answers_from_pairs, check_answers
    from lumen_lab.verifier.export import export_int8, torch_logits, write_manifest

    final = work / run / "final"
    if not final.is_dir():
        _fail(f"no trained model in {final}: run train first")
    out = out or work / "export"
    export_int8(final, out)
    data_manifest = json.loads((work / "data" / "manifest.json").read_text(encoding="utf-8"))
    training = {
        "data_sha256": data_manifest["sha256"],
        "composition": data_manifest["composition"],
        **json.loads((final / "training.json").read_text(encoding="utf-8")),
    }
    write_manifest(out, threshold=0.5, max_tokens=max_tokens, training=training, metrics={})
    # ONNX vs PyTorch on a few validation pairs
    from lumen.rag.entailment import EntailmentModel

    validation = read_pairs(work / "data" / "validation.jsonl")
    sample = [(p.sentence, p.evidence) for p in validation[:24]]
    onnx = EntailmentModel(out).logits(sample)
    reference = torch_logits(final, sample, max_tokens)
    agreement = {
        "max_abs_logit_diff": round(float(np.max(np.abs(onnx - reference))), 4),
        "sign_agreement": round(float(np.mean(np.sign(onnx) == np.sign(reference))), 4),
    }
    typer.echo(f"ONNX vs PyTorch on 24 validation pairs: {agreement}")
    # threshold on the validation split, precision first
    embedder = _embedder()
    answers = answers_from_pairs(validation, _questions())
    rows = check_answers(_verifier_for(out, embedder), embedder, answers)
    true_scores = np.asarray([s for r in rows if r["true"] for s in r["scores"]])
    bad_scores = np.asarray(
        [s for r in rows if r["kind"] in _CALIBRATION_KINDS for s in r["scores"]]
    )
    candidates = np.unique(np.concatenate([bad_scores, [1.0]]))
    threshold = next(
        float(t) + 1e-4 for t in candidates if float(np.mean(bad_scores > t)) <= max_false_accept
    )
    threshold = min(threshold, 0.999)
    metrics = {
        "validation": {
            "threshold_rule": f"lowest P(entailed) keeping at most {max_false_accept:.0%} of the "
            f"hallucinated validation sentences ({', '.join(_CALIBRATION_KINDS)})",
            "true_sentences_kept": round(float(np.mean(true_scores >= threshold)), 4),
            "hallucinated_sentences_kept": round(float(np.mean(bad_scores >= threshold)), 4),
            "items": len({a.item for a in answers}),
        },
        "onnx_vs_torch": agreement,
    }
    manifest = write_manifest(
        out, threshold=threshold, max_tokens=max_tokens, training=training, metrics=metrics
    )
    typer.echo(json.dumps({"threshold": manifest["threshold"], "metrics": metrics}, indent=1))


@verifier_app.command("recover")
def recover_cmd(
    work: WorkOption = _DEFAULT_WORK,
    model: Annotated[
        Path | None,
        typer.Option(help="Export folder to read (default: the shipped lumen/models/verifier)."),
    ] = None,
    run: Annotated[str, typer.Option(help="Run folder to write under --work.")] = "recovered",
) -> None:
    """Rebuild a run's final/ from an int8 export (weights dequantised), to export it again."""
    from lumen.components.model_files import minilm_dir
    from lumen.rag.entailment import MODEL_FILE, default_model_dir
    from lumen_lab.verifier.recover import RecoveryError, recover_checkpoint

    model = model or default_model_dir()
    if not (model / MODEL_FILE).is_file():
        _fail(f"no exported verifier in {model}")
    try:
        final = recover_checkpoint(model, minilm_dir(), work / run / "final")
    except RecoveryError as exc:
        _fail(str(exc))
    typer.echo(f"recovered {final}")


@verifier_app.command("evaluate")
def evaluate_cmd(
    work: WorkOption = _DEFAULT_WORK,
    model: Annotated[
        Path | None, typer.Option(help="Verifier folder (default: the export under --work).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Report JSON (a PNG is written beside it).")] = _REPO
    / "bench"
    / "results"
    / "verifier-dev.json",
    limit: Annotated[int, typer.Option(help="Only the first N dev items (0: all).")] = 0,
) -> None:
    """The grounding report on the dev split: the entailment model and the lexical scorer."""
    from lumen.components.embedding.bm25 import Bm25Encoder
    from lumen.rag.entailment import EntailmentModel
    from lumen.rag.verify import Verifier
    from lumen_lab.verifier.data import read_pairs
    from lumen_lab.verifier.evaluate import evaluate

    folder = model or work / "export"
    dev_path = work / "data" / "dev.jsonl"
    if not dev_path.exists():
        _fail(f"no dev pairs at {dev_path}: run build-data first")
    pairs = read_pairs(dev_path)
    if limit:
        keep = sorted({p.group for p in pairs})[:limit]
        pairs = [p for p in pairs if p.group in keep]
    embedder = _embedder()
    entailment = EntailmentModel(folder)
    report = evaluate(
        pairs,
        _questions(),
        {
            "entailment": Verifier(embedder, Bm25Encoder(), entailment=entailment),
            "lexical": Verifier(embedder, Bm25Encoder()),
        },
        embedder,
        out,
        out.with_suffix(".png"),
        extra={
            "command": " ".join(["lumen lab verifier evaluate", *sys.argv[4:]]),
            "threshold": entailment.threshold,
            "model_sha256": entailment.manifest["files"],
            "data_sha256": json.loads((work / "data" / "manifest.json").read_text())["sha256"],
        },
    )
    typer.echo(json.dumps(report["scorers"], indent=1))


@verifier_app.command("install")
def install_cmd(
    work: WorkOption = _DEFAULT_WORK,
    model: Annotated[
        Path | None, typer.Option(help="Export folder (default: export/ under --work).")
    ] = None,
) -> None:
    """Copy the export (model, tokenizer, manifest) into the package: lumen/models/verifier."""
    from lumen.rag.entailment import (
        MANIFEST_FILE,
        MODEL_FILE,
        TOKENIZER_FILE,
        EntailmentModel,
        VerifierModelError,
        default_model_dir,
    )

    source = model or work / "export"
    try:
        EntailmentModel(source)  # refuse an incomplete or altered export
    except VerifierModelError as exc:
        _fail(str(exc))
    target = default_model_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE):
        shutil.copyfile(source / name, target / name)
    typer.echo(f"installed {source} → {target}")
