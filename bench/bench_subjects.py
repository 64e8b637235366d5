"""Questions whose subject the sources lack: does Lumen say so instead of answering another one?

Two sets of questions go through the retriever (with its spelling pass, as ``pipeline.ask`` runs
it) and Lumen's subject check (``lumen/rag/subjects.py``): drug questions built from the
openFDA label names of the shared data (120 single-word names, shuffled with seed 7, three
question templates in turn), asked of the knowledge collection, which holds no drug labels;
and the consumer dev set, whose every question has its page in the index. Figures: the share
of each set that abstains because no retrieved chunk mentions a subject of the question
(wanted for the drug questions, unwanted for the consumer ones), with the words named. Run it
on the index ``make run`` builds (``--data-dir .lumen``). Results: bench/results/subjects.json.

Usage: python bench/bench_subjects.py --devset dev.jsonl [--data-dir .lumen]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TEMPLATES = (
    "What are the side effects of {}?",
    "Can I take {} with alcohol?",
    "my doctor put me on {} and i feel dizzy, is that normal",
)


def drug_questions(sources: Path, count: int = 120, seed: int = 7) -> list[str]:
    """Questions about ``count`` drugs named by the shared openFDA labels."""
    files = sorted((sources / "drugs" / "openfda_labels").glob("*.json"))
    random.Random(seed).shuffle(files)
    names: list[str] = []
    for path in files:
        name = str(json.loads(path.read_text(encoding="utf-8")).get("drug_name") or "")
        if re.fullmatch(r"[a-z]{5,}", name.strip().lower()):
            names.append(name.strip().lower())
    return [TEMPLATES[i % len(TEMPLATES)].format(n) for i, n in enumerate(names[:count])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devset", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen"))
    parser.add_argument("--out", type=Path, default=RESULTS / "subjects.json")
    args = parser.parse_args()
    os.environ["LUMEN_PATHS__DATA_DIR"] = str(args.data_dir)

    from lumen.factory import build_lumen
    from lumen.rag.subjects import unmentioned
    from lumen.settings import load_settings

    settings = load_settings()
    consumer = [
        json.loads(line)["question"]
        for line in args.devset.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    drugs = drug_questions(settings.paths.sources_dir)
    with build_lumen(settings) as lumen:
        retriever = lumen.pipeline.retriever

        def measure(questions: Sequence[str]) -> dict[str, Any]:
            named: list[list[str]] = []
            for question in questions:
                found = retriever.retrieve(
                    question, collections=("knowledge",), k=settings.retrieval.k
                )
                texts = [c.chunk.embed_text for c in found.chunks]
                named.append(unmentioned(found.subjects, texts))
            flagged = [words for words in named if words]
            return {
                "questions": len(questions),
                "abstain_for_a_subject": round(len(flagged) / max(len(questions), 1), 4),
                "words_named": sorted({w for words in flagged for w in words}),
            }

        report = {
            "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
            "index": str(args.data_dir),
            "drug_questions_without_labels": measure(drugs),
            "consumer_dev_set": {"devset": str(args.devset), **measure(consumer)},
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
