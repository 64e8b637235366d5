"""Core RAG benchmark on all of MedQuAD: ingest throughput, retrieval latency and recall@5,
end-to-end answer latency and time to first token. Results: bench/results/core.json + core.png.

Recall protocol (comparable across systems): sample 200 answered QA pairs with
``random.Random(0)`` from the sorted list of (file path relative to the MedQuAD folder, question
id), every answered pair kept; ask each question; a hit is the pair's own document URL among the
top-5 results. Question texts are not indexed (``include_questions=False``).

Usage: python bench/bench_core.py [--data-dir DIR] [--answers 40] [--skip-ingest] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from rich.progress import Progress

from lumen.factory import build_lumen
from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs
from lumen.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results"


def recall_pairs(medquad_dir: Path) -> dict[tuple[str, str], QAPair]:
    """Every answered MedQuAD pair keyed by (path under the MedQuAD folder, question id)."""
    pairs = {(p.relative_path, p.qid): p for p in iter_qa_pairs(medquad_dir)}
    return dict(sorted(pairs.items()))


def sample_recall_pairs(medquad_dir: Path, sample: int) -> list[QAPair]:
    """The protocol's sample: ``sample`` pairs drawn by ``random.Random(0)`` from the keys."""
    pairs = recall_pairs(medquad_dir)
    return [pairs[key] for key in random.Random(0).sample(list(pairs), sample)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen-bench"))
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "core.json")
    args = parser.parse_args()

    os.environ["LUMEN_PATHS__DATA_DIR"] = str(args.data_dir)
    os.environ["LUMEN_INGEST__MEDQUAD_INCLUDE_QUESTIONS"] = "false"
    settings = load_settings()
    medquad_dir = settings.paths.sources_dir / "medquad"
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "embedding_backend": settings.embedding.backend,
            "chunk_tokens": settings.ingest.chunk_tokens,
            "overlap_tokens": settings.ingest.overlap_tokens,
            "vector_store": settings.vector_store.backend,
            "llm": settings.llm.backend,
            "k": settings.retrieval.k,
            "spelling": settings.retrieval.spelling,
            "heading_match": settings.retrieval.heading_match,
            "max_context_tokens": settings.llm.max_context_tokens,
            "max_answer_tokens": settings.llm.max_answer_tokens,
            "answer_budget_s": settings.llm.answer_budget_s,
        },
    }

    with build_lumen(settings) as lumen:
        if not args.skip_ingest:
            loader = get_loader("medquad", include_questions=False)
            docs = list(loader.load(medquad_dir, collection="knowledge", report=lambda p, m: None))
            with Progress() as bar:
                task = bar.add_task("indexing MedQuAD", total=None)
                report = lumen.ingestor.ingest(
                    docs,
                    collection="knowledge",
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    vocabulary=True,  # as `lumen ingest` does
                )
            results["ingest"] = {
                "documents": report.documents,
                "chunks": report.chunks_written,
                "seconds": round(report.seconds, 1),
                "chunks_per_s": round(report.chunks_per_second, 1),
            }
        stats = lumen.store.stats("knowledge")
        results["index"] = {"points": stats.points, "documents": stats.documents}

        chosen = sample_recall_pairs(medquad_dir, args.sample)
        recall: dict[str, float] = {}
        latency: dict[str, dict[str, float]] = {}
        for mode in ("dense", "bm25", "hybrid"):
            hits = 0
            times: list[float] = []
            for pair in chosen:
                started = time.perf_counter()
                found = lumen.retriever.retrieve(
                    pair.question, collections=["knowledge"], k=5, mode=mode
                )
                times.append((time.perf_counter() - started) * 1000)
                hits += any(item.chunk.url == pair.url for item in found.chunks)
            recall[mode] = round(hits / len(chosen), 4)
            latency[mode] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
        results["retrieval"] = {"sample": len(chosen), "recall_at_5": recall, "latency": latency}

        totals: list[float] = []
        first: list[float] = []
        verify: list[float] = []
        modes: dict[str, int] = {}
        budget_cuts = 0
        lumen.pipeline.ask(chosen[0].question)  # load the model before timing
        for pair in chosen[: args.answers]:
            answer = lumen.pipeline.ask(pair.question)
            totals.append(answer.timings_ms["total"])
            if not answer.abstained:
                first.append(answer.timings_ms["retrieve"] + answer.timings_ms["first_token"])
                verify.append(answer.timings_ms["verify"])
            modes[answer.mode] = modes.get(answer.mode, 0) + 1
            budget_cuts += int(answer.timings_ms.get("budget_cut", 0.0))
        results["answer"] = {
            "questions": len(totals),
            "total_p50_ms": percentile(totals, 50),
            "total_p95_ms": percentile(totals, 95),
            "first_token_p50_ms": percentile(first, 50),
            "first_token_p95_ms": percentile(first, 95),
            "verify_p50_ms": percentile(verify, 50),
            "verify_p95_ms": percentile(verify, 95),
            "verifier": lumen.verifier.scorer,
            "modes": modes,
            "budget_cuts": budget_cuts,
        }

    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = RESULTS / "core.json"
    if args.skip_ingest and previous.exists():  # keep the ingest figures of the full run
        results.setdefault("ingest", json.loads(previous.read_text()).get("ingest"))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, args.out.with_suffix(".png"), totals, first)
    print(json.dumps(results, indent=2))


def plot(results: dict[str, object], path: Path, totals: list[float], first: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    retrieval = results["retrieval"]
    assert isinstance(retrieval, dict)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    modes = list(retrieval["recall_at_5"])
    left.bar(modes, [retrieval["recall_at_5"][m] for m in modes], color="#3b7dd8")
    left.set_ylim(0.8, 1.0)
    left.set_title(f"MedQuAD recall@5 ({retrieval['sample']} questions)")
    for i, m in enumerate(modes):
        left.text(
            i,
            retrieval["recall_at_5"][m] + 0.003,
            f"{retrieval['recall_at_5'][m]:.3f}",
            ha="center",
        )
    right.hist([totals, first], bins=15, label=["full answer", "first token"])
    right.axvline(5000, color="red", linestyle="--", label="5 s budget")
    right.set_xlabel("ms")
    right.set_title("End-to-end latency")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
