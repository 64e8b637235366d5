"""Verify-step latency: ``Verifier.check`` of a 4-sentence answer against k = 5 chunks.

Chunks are real MedQuAD answers cut by Lumen's chunker (five chunks of one or two pages per
trial); the answer holds two sentences quoted from the chunks and two altered ones (negated, or
with an invented clause). ``Verifier.gather`` (embedding the chunks' sentences, part of the
retrieve step in the pipeline) is timed apart. Both scorers, the same trials. Run it alone on
a quiet machine; results: bench/results/verify.json + verify.png.

Usage: python bench/bench_verify.py [--trials 60] [--threads 2] [--verifier-dir DIR]
(default: the installed verifier, lumen/models/verifier)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.components.embedding.onnx import OnnxEmbedder
from lumen.components.model_files import minilm_dir
from lumen.documents import Document, Section
from lumen.ingest.chunking import Chunker
from lumen.ingest.loaders.medquad import iter_qa_pairs
from lumen.rag.entailment import EntailmentModel
from lumen.rag.retrieve import RetrievedChunk
from lumen.rag.verify import Verifier
from lumen.settings import load_settings
from lumen.textutil import split_sentences

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "verify.json")
    parser.add_argument("--verifier-dir", type=Path, default=None)
    args = parser.parse_args()

    settings = load_settings()
    chunker = Chunker.for_minilm(settings.ingest.chunk_tokens, settings.ingest.overlap_tokens)
    medquad = settings.paths.sources_dir / "medquad"
    pairs = [p for p in iter_qa_pairs(medquad) if len(p.answer) > 3000]
    rng = random.Random(0)
    rng.shuffle(pairs)
    embedder = OnnxEmbedder(minilm_dir(), settings.paths.data_dir / "models", threads=args.threads)
    verifiers = {
        "entailment": Verifier(
            embedder,
            Bm25Encoder(),
            entailment=EntailmentModel(args.verifier_dir, threads=args.threads),
            entailment_chunks=settings.verify.entailment_chunks,
        ),
        "lexical": Verifier(embedder, Bm25Encoder(), threshold=settings.verify.support_threshold),
    }
    timings: dict[str, dict[str, list[float]]] = {n: {"gather": [], "check": []} for n in verifiers}
    trials = 0
    for pair in pairs:
        if trials == args.trials:
            break
        document = Document(
            id=pair.doc_id,
            title=pair.focus,
            url=pair.url,
            source="medquad",
            collection="knowledge",
            sections=(Section(pair.question, pair.answer),),
        )
        chunks = [RetrievedChunk(chunk=c, score=1.0) for c in chunker.chunk(document)][: args.k]
        if len(chunks) < args.k:
            continue
        sentences = [s for c in chunks for s in split_sentences(c.chunk.text) if len(s.split()) > 6]
        if len(sentences) < 4:
            continue
        picked = rng.sample(sentences, 4)
        answer = " ".join(
            [
                picked[0],
                picked[1],
                picked[2].rstrip(".") + ", especially in older adults with diabetes.",
                "It is not " + picked[3][0].lower() + picked[3][1:],
            ]
        )
        query = embedder.embed([pair.question])[0]
        for name, verifier in verifiers.items():
            started = time.perf_counter()
            evidence = verifier.gather(query, chunks)
            gathered = time.perf_counter()
            verifier.check(answer, evidence)
            done = time.perf_counter()
            if trials > 0:  # the first trial warms the sessions up
                timings[name]["gather"].append((gathered - started) * 1000)
                timings[name]["check"].append((done - gathered) * 1000)
        trials += 1
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "protocol": f"k={args.k} MedQuAD chunks, a 4-sentence answer, {trials - 1} timed trials, "
        f"{args.threads} threads; check = the pipeline's verify step",
        "ms": {
            name: {
                step: {"p50": percentile(values, 50), "p95": percentile(values, 95)}
                for step, values in steps.items()
            }
            for name, steps in timings.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    _plot(timings, args.out.with_suffix(".png"))
    print(json.dumps(results["ms"], indent=1))


def _plot(timings: dict[str, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    labels, data = [], []
    for name, steps in timings.items():
        for step, values in steps.items():
            labels.append(f"{name}\n{step}")
            data.append(values)
    ax.boxplot(data, tick_labels=labels)
    ax.axhline(300, linestyle=":", color="red", label="verify budget 300 ms (p95)")
    ax.set_ylabel("ms")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
