"""Consumer questions through the whole pipeline: is the answer's first citation the right page?

The questions are our consumer dev set (``lumen lab retrieval devset``: MedQuAD questions of
held-out documents rewritten as long, chatty, misspelled messages), each with its page's URL as
the relevant answer. Every question goes through ``pipeline.ask`` as ``lumen ask --json`` does;
figures: the share whose first citation is the relevant page, MRR@5 over the citations (the
rank of the first relevant one among the first five, 0 when absent), answers with no citation,
the share whose first sentence is quoted from the section that answers the question asked (the
MedQuAD answer the question was rewritten from: a quote from the right page's research section
does not answer "what is the outlook"), and the answer modes. Run it alone, on the index
``make run`` builds (``--data-dir .lumen``: MedQuAD with its questions and the PubMedQA
abstracts, what ``lumen ask`` reads) or the one
``bench/bench_core.py`` builds (``.lumen-bench``: MedQuAD without its questions); the report
names the index. Results: bench/results/consumer.json + consumer.png.

Usage: python bench/bench_consumer.py --devset dev.jsonl [--limit 120] [--data-dir .lumen-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devset", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen-bench"))
    parser.add_argument("--out", type=Path, default=RESULTS / "consumer.json")
    parser.add_argument(
        "--answers", type=Path, help="Also write each question's answer and rank here (JSONL)."
    )
    args = parser.parse_args()
    os.environ["LUMEN_PATHS__DATA_DIR"] = str(args.data_dir)

    from lumen.factory import build_lumen
    from lumen.ingest.loaders.medquad import iter_qa_pairs
    from lumen.rag.pipeline import AskOptions
    from lumen.settings import load_settings

    rows = [json.loads(line) for line in args.devset.read_text(encoding="utf-8").splitlines()]
    rows = rows[: args.limit]
    settings = load_settings()
    asked = {row["id"] for row in rows}
    sections = {
        f"{p.doc_id}#{p.qid}": _words(p.body or p.answer)
        for p in iter_qa_pairs(settings.paths.sources_dir / "medquad")
        if f"{p.doc_id}#{p.qid}" in asked
    }
    from_section: list[bool] = []
    ranks: list[int] = []
    modes: Counter[str] = Counter()
    seconds: list[float] = []
    answered: list[dict[str, object]] = []
    with build_lumen(settings) as lumen:
        stats = lumen.store.stats("knowledge")
        index = {"points": stats.points, "documents": stats.documents, "sources": stats.sources}
        for number, row in enumerate(rows, start=1):
            started = time.perf_counter()
            answer = lumen.pipeline.ask(row["question"], AskOptions(collections=("knowledge",)))
            seconds.append(time.perf_counter() - started)
            urls = [c.url for c in answer.citations][:5]
            ranks.append(urls.index(row["url"]) + 1 if row["url"] in urls else 0)
            first = _words(answer.sentences[0].text) if answer.sentences else ""
            from_section.append(bool(first) and first in sections.get(row["id"], ""))
            modes[str(answer.mode)] += 1
            answered.append(
                {"id": row["id"], "question": row["question"], "rank": ranks[-1]}
                | {"answer": answer.answer, "urls": urls, "from_section": from_section[-1]}
            )
            if number % 20 == 0:
                sys.stderr.write(f"{number}/{len(rows)} questions\n")
    n = len(ranks)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
        "devset": str(args.devset),
        "index": {"data_dir": str(args.data_dir), "knowledge": index},
        "questions": n,
        "verifier": settings.verify.model,
        "first_citation_relevant": round(sum(r == 1 for r in ranks) / n, 4),
        "mrr_at_5": round(sum(1 / r for r in ranks if r) / n, 4),
        "relevant_cited_at_all": round(sum(r > 0 for r in ranks) / n, 4),
        "first_sentence_from_asked_section": round(sum(from_section) / n, 4),
        "modes": dict(sorted(modes.items())),
        "seconds_p50": round(sorted(seconds)[n // 2], 2),
        "first_citation_relevant_by_qtype": {
            qtype: {
                "questions": len(kind),
                "share": round(sum(r == 1 for r in kind) / len(kind), 4),
            }
            for qtype in sorted({row.get("qtype", "") for row in rows})
            for kind in [
                [r for r, row in zip(ranks, rows, strict=True) if row.get("qtype", "") == qtype]
            ]
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    _plot(ranks, report, args.out.with_suffix(".png"))
    if args.answers:
        lines = (json.dumps(item, ensure_ascii=False) + "\n" for item in answered)
        args.answers.write_text("".join(lines), encoding="utf-8")
    print(json.dumps(report, indent=1))


def _words(text: str) -> str:
    """Lower-cased words only, for finding a quoted sentence inside its source section."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _plot(ranks: list[int], report: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["1st", "2nd", "3rd", "4th", "5th", "not cited"]
    counts = [sum(r == k for r in ranks) for k in (1, 2, 3, 4, 5)] + [ranks.count(0)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(labels, counts, color=["#2a7"] + ["#7ab"] * 4 + ["#c55"])
    ax.set_ylabel("questions")
    ax.set_title(
        f"Consumer questions: rank of the relevant page among the citations\n"
        f"first citation relevant {report['first_citation_relevant']:.0%}, "
        f"MRR@5 {report['mrr_at_5']:.2f} (n={report['questions']}, {report['verifier']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
