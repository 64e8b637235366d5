"""The grounding report: true conclusions vs hallucinated ones, through Lumen's own Verifier.

Each dev item's abstract is the only retrieved chunk; every answer (the true long answer, and
each hallucinated answer built for the item) goes through ``Verifier.gather`` /
``Verifier.check`` exactly as the held-out test does. Figures: true sentences kept,
hallucinated sentences kept, AUROC of the mean support score per answer (true vs
hallucinated), and hallucinated answers with at least one sentence kept; overall (the kinds
that look like real hallucinations) and per kind.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lumen_lab.verifier.data import REALISTIC_KINDS, Pair


@dataclass(frozen=True)
class Answer:
    """One answer to check: its sentences, the abstract and whether it is true."""

    item: str
    kind: str
    text: str
    evidence: str
    question: str
    true: bool


def answers_from_pairs(pairs: Sequence[Pair], questions: dict[str, str]) -> list[Answer]:
    """Group dev pairs into answers: the true long answer and one answer per negative kind."""
    grouped: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        if pair.kind == "true_answer" or (pair.label == 0 and pair.kind in REALISTIC_KINDS):
            grouped[pair.answer_id].append(pair)
    out = []
    for _, members in sorted(grouped.items()):
        first = members[0]
        out.append(
            Answer(
                item=first.group,
                kind="true" if first.label else first.kind,
                text=" ".join(p.sentence for p in members),
                evidence=first.evidence,
                question=questions.get(first.group, ""),
                true=bool(first.label),
            )
        )
    return out


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    pos = np.asarray(positive, dtype=np.float64)[:, None]
    neg = np.asarray(negative, dtype=np.float64)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def check_answers(verifier: Any, embedder: Any, answers: Sequence[Answer]) -> list[dict[str, Any]]:
    """Run every answer through ``Verifier.gather``/``check`` with its abstract as the chunk."""
    from lumen.documents import Chunk
    from lumen.rag.retrieve import RetrievedChunk

    questions = sorted({a.question for a in answers})
    vectors = dict(zip(questions, embedder.embed(questions), strict=True))
    evidence_cache: dict[str, Any] = {}
    rows = []
    for answer in answers:
        evidence = evidence_cache.get(answer.item)
        if evidence is None:
            chunk = Chunk(
                id=f"{answer.item}#0",
                doc_id=answer.item,
                collection="pubmed",
                source="pubmedqa",
                title="",
                section="",
                url=f"https://pubmed.ncbi.nlm.nih.gov/{answer.item}/",
                text=answer.evidence,
                position=0,
                n_chunks=1,
                doc_hash="",
            )
            evidence = verifier.gather(
                vectors[answer.question], [RetrievedChunk(chunk=chunk, score=1.0)]
            )
            evidence_cache[answer.item] = evidence
        checked = verifier.check(answer.text, evidence)
        rows.append(
            {
                "item": answer.item,
                "kind": answer.kind,
                "true": answer.true,
                "scores": [round(float(c.score), 4) for c in checked],
                "kept": [bool(c.supported) for c in checked],
            }
        )
    return rows


def summarise(
    rows: Sequence[dict[str, Any]], kinds: Sequence[str] = REALISTIC_KINDS
) -> dict[str, Any]:
    """The four figures overall (over ``kinds``) and per kind."""

    def mean(r: dict[str, Any]) -> float:
        return float(np.mean(r["scores"])) if r["scores"] else 0.0

    def figures(true_rows: list[dict[str, Any]], bad_rows: list[dict[str, Any]]) -> dict[str, Any]:
        true_kept = [k for r in true_rows for k in r["kept"]]
        bad_kept = [k for r in bad_rows for k in r["kept"]]
        return {
            "true_answers": len(true_rows),
            "hallucinated_answers": len(bad_rows),
            "true_sentences_kept": round(float(np.mean(true_kept)), 4) if true_kept else None,
            "hallucinated_sentences_kept": round(float(np.mean(bad_kept)), 4) if bad_kept else None,
            "auroc_mean_score": round(
                auroc([mean(r) for r in true_rows], [mean(r) for r in bad_rows]), 4
            ),
            "hallucinated_answers_with_a_kept_sentence": round(
                float(np.mean([any(r["kept"]) for r in bad_rows])), 4
            )
            if bad_rows
            else None,
        }

    true_rows = [r for r in rows if r["true"]]
    report = {"overall": figures(true_rows, [r for r in rows if r["kind"] in kinds])}
    report["per_kind"] = {
        kind: figures(true_rows, [r for r in rows if r["kind"] == kind])
        for kind in sorted({r["kind"] for r in rows if not r["true"]})
    }
    return report


def plot(
    rows_by_scorer: Mapping[str, Sequence[dict[str, Any]]],
    path: Path,
    kinds: Sequence[str] = REALISTIC_KINDS,
) -> None:
    """Score histograms (true vs hallucinated answers) and ROC curves, one row per scorer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(rows_by_scorer), 2, figsize=(10, 4 * len(rows_by_scorer)), squeeze=False
    )

    def mean(r: dict[str, Any]) -> float:
        return float(np.mean(r["scores"])) if r["scores"] else 0.0

    for row, (name, rows) in enumerate(rows_by_scorer.items()):
        true = np.asarray([mean(r) for r in rows if r["true"]])
        bad = np.asarray([mean(r) for r in rows if not r["true"] and r["kind"] in kinds])
        ax = axes[row][0]
        bins = np.linspace(0, 1, 26)
        ax.hist(true, bins=bins, alpha=0.6, label=f"true ({len(true)})", density=True)
        ax.hist(bad, bins=bins, alpha=0.6, label=f"hallucinated ({len(bad)})", density=True)
        ax.set_title(f"{name}: mean support score per answer")
        ax.set_xlabel("score")
        ax.legend()
        thresholds = np.unique(np.concatenate([true, bad, [-1.0, 2.0]]))[::-1]
        tpr = [(true >= t).mean() for t in thresholds]
        fpr = [(bad >= t).mean() for t in thresholds]
        ax = axes[row][1]
        ax.plot(fpr, tpr, label=f"AUROC {auroc(list(true), list(bad)):.3f}")
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
        ax.set_xlabel("hallucinated answers accepted")
        ax.set_ylabel("true answers accepted")
        ax.set_title(f"{name}: ROC")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def evaluate(
    dev_pairs: Sequence[Pair],
    questions: dict[str, str],
    verifiers: dict[str, Any],
    embedder: Any,
    out_json: Path,
    out_png: Path,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run each named verifier on the dev answers; write the JSON report and the plot."""
    answers = answers_from_pairs(dev_pairs, questions)
    rows = {name: check_answers(v, embedder, answers) for name, v in verifiers.items()}
    report: dict[str, Any] = {
        "split": "dev (PubMedQA pqal_dev items held out by pmid, never trained or tuned on)",
        "protocol": "Verifier.gather/check, the abstract as the only chunk; AUROC over the mean "
        "support score per answer; overall = kinds " + ", ".join(REALISTIC_KINDS),
        "items": len({a.item for a in answers}),
        **(extra or {}),
        "scorers": {name: summarise(r) for name, r in rows.items()},
    }
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    plot(rows, out_png)
    return report
