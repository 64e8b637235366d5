"""Retrain the triage classifier from the shared safety sets and Lumen's own examples.

``python -m lumen.safety train`` runs :func:`train_triage_classifier`. Steps: load every
labelled example with its fixed split (:mod:`lumen_lab.safety.datasets`); embed them; fit the
TF-IDF vocabulary and a multinomial logistic regression on the training split only; choose
the regularisation and the decision thresholds on 5-fold out-of-fold predictions of the
training split, combined with the rules exactly as at run time; fit the subtype models;
write the model file; score the held-out split. Needs scikit-learn (a development tool, not
a run-time dependency).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.errors import MissingExtraError
from lumen.safety.classifier import (
    CLASSES,
    MINILM_IDENTITIES,
    LinearModel,
    Tfidf,
    Thresholds,
    TriageModel,
)
from lumen.safety.rules import RuleReport, match_rules
from lumen.safety.triage import Triage, decide
from lumen_lab.safety.datasets import (
    HELD_OUT_FRACTION,
    MEDQUAD_SAMPLE,
    SPLIT_SEED,
    Example,
    load_safety_data,
)

logger = logging.getLogger(__name__)

TRAIN_SEED = 13
C_GRID = (1.0, 2.0, 4.0, 8.0)
TFIDF_WEIGHT = 1.0
THRESHOLD_GRID: dict[str, tuple[float, ...]] = {
    "crisis": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
    "emergency": (0.3, 0.4, 0.5, 0.6),
    "harmful": (0.3, 0.4, 0.5, 0.6, 0.7),
    "safe_margin": (0.15, 0.3),
}
TARGETS = {
    "crisis_recall": 0.99,
    "classifier_crisis_recall": 0.95,
    "medsafetybench_refusal": 0.97,
    "xstest_over_refusal": 0.06,
}
"""Training-split (out-of-fold) targets, a little stricter than the held-out ones. The
classifier on its own must also find most crisis examples: the rules were written with the
training examples in view, so their out-of-fold recall overstates what they do on new
phrasings."""


def _sklearn() -> Any:
    try:
        import sklearn
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
    except ImportError as exc:
        raise MissingExtraError("scikit-learn", "dev") from exc
    return sklearn, LogisticRegression, StratifiedKFold


def _fit(features: np.ndarray, labels: Sequence[str], c: float) -> LinearModel:
    _, logistic_regression, _ = _sklearn()
    model = logistic_regression(
        C=c, max_iter=5000, class_weight="balanced", random_state=TRAIN_SEED
    )
    model.fit(features, list(labels))
    return LinearModel(
        tuple(str(x) for x in model.classes_),
        np.asarray(model.coef_, dtype=np.float64),
        np.asarray(model.intercept_, dtype=np.float64),
    )


def _out_of_fold(
    features: np.ndarray, labels: Sequence[str], c: float, folds: int = 5
) -> np.ndarray:
    """Out-of-fold class probabilities (columns in ``CLASSES`` order)."""
    _, _, stratified_k_fold = _sklearn()
    out = np.zeros((len(labels), len(CLASSES)))
    y = np.asarray(labels)
    splitter = stratified_k_fold(n_splits=folds, shuffle=True, random_state=TRAIN_SEED)
    for train_idx, test_idx in splitter.split(features, y):
        model = _fit(features[train_idx], y[train_idx].tolist(), c)
        probs = model.predict_proba(features[test_idx])
        for j, name in enumerate(model.classes):
            out[test_idx, CLASSES.index(name)] = probs[:, j]
    return out


def _macro_f1(examples: Sequence[Example], predicted: Sequence[str]) -> float:
    scores = []
    for label in CLASSES:
        pairs = [
            (e.label, p)
            for e, p in zip(examples, predicted, strict=True)
            if not (e.source == "xstest" and e.label == "harmful")
        ]
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def _share(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


def _choose_thresholds(
    examples: Sequence[Example], probs: np.ndarray, reports: Sequence[RuleReport]
) -> tuple[float, Thresholds, dict[str, float]]:
    """The grid point with the best macro-F1 after penalties for missed targets, and its score."""
    rows = [{c: float(p) for c, p in zip(CLASSES, r, strict=True)} for r in probs]
    crisis_idx = [i for i, e in enumerate(examples) if e.label == "crisis"]
    msb_idx = [i for i, e in enumerate(examples) if e.source == "medsafetybench"]
    xs_idx = [i for i, e in enumerate(examples) if e.source == "xstest" and e.label == "ordinary"]
    best: tuple[float, Thresholds, dict[str, float]] | None = None
    grid = THRESHOLD_GRID
    for tc, te, th, margin in itertools.product(
        grid["crisis"], grid["emergency"], grid["harmful"], grid["safe_margin"]
    ):
        thresholds = Thresholds(tc, te, th, margin)
        predicted = [decide(r, rep, thresholds)[0] for r, rep in zip(rows, reports, strict=True)]
        crisis_recall = _share([predicted[i] == "crisis" for i in crisis_idx])
        classifier_recall = _share([rows[i]["crisis"] >= tc for i in crisis_idx])
        msb = _share([predicted[i] != "ordinary" for i in msb_idx])
        xs_over = _share([predicted[i] != "ordinary" for i in xs_idx])
        f1 = _macro_f1(examples, predicted)
        score = (
            f1
            - 4 * max(0.0, TARGETS["crisis_recall"] - crisis_recall)
            - 2 * max(0.0, TARGETS["classifier_crisis_recall"] - classifier_recall)
            - 4 * max(0.0, TARGETS["medsafetybench_refusal"] - msb)
            - 4 * max(0.0, xs_over - TARGETS["xstest_over_refusal"])
        )
        if best is None or score > best[0] + 1e-9:
            stats = {
                "macro_f1": round(float(f1), 4),
                "crisis_recall": round(float(crisis_recall), 4),
                "classifier_crisis_recall": round(float(classifier_recall), 4),
                "medsafetybench_refusal": round(float(msb), 4),
                "xstest_over_refusal": round(float(xs_over), 4),
            }
            best = (score, thresholds, stats)
    if best is None:
        raise ValueError("no threshold candidates to choose from")
    return best


def train_triage_classifier(
    sources_dir: Path, embedder: Embedder, out_path: Path | None = None
) -> dict[str, Any]:
    """Train, write the model file to ``out_path`` (default: the packaged one), return metrics.

    The returned dict holds the chosen hyper-parameters, the out-of-fold statistics of the
    training split and the held-out metrics of :func:`lumen_lab.safety.evaluate.triage_metrics`.
    """
    from lumen.safety.classifier import default_model_path
    from lumen_lab.safety.evaluate import triage_metrics

    sklearn, _, _ = _sklearn()
    out_path = Path(out_path) if out_path is not None else default_model_path()
    data = load_safety_data(Path(sources_dir))
    train = data.split(held_out=False)
    held = data.split(held_out=True)
    logger.info("training on %d examples, %d held out", len(train), len(held))
    train_texts = [e.text for e in train]
    train_emb = embedder.embed(train_texts)
    held_emb = embedder.embed([e.text for e in held])
    tfidf = Tfidf.fit(train_texts)
    lexical = tfidf.transform(train_texts) * TFIDF_WEIGHT
    features = np.hstack([np.asarray(train_emb, dtype=np.float64), lexical])
    labels = [e.label for e in train]

    # C and the thresholds are chosen together, by the penalised out-of-fold score: the C
    # with the best plain macro-F1 can miss the crisis and refusal targets that matter most.
    reports = [match_rules(t) for t in train_texts]
    chosen: tuple[float, float, Thresholds, dict[str, float]] | None = None
    for c in C_GRID:
        probs = _out_of_fold(features, labels, c)
        score, candidate, stats = _choose_thresholds(train, probs, reports)
        logger.info("C=%s: penalised out-of-fold score %.4f (%s)", c, score, stats)
        if chosen is None or score > chosen[0] + 1e-9:
            chosen = (score, c, candidate, stats)
    if chosen is None:
        raise ValueError("C_GRID is empty")
    _, best_c, thresholds, oof_stats = chosen
    logger.info("C=%s, thresholds %s (out-of-fold %s)", best_c, thresholds, oof_stats)

    main = _fit(features, labels, best_c)
    if main.classes != CLASSES:
        raise ValueError(f"training produced classes {main.classes}, expected {CLASSES}")
    subtypes: dict[str, LinearModel] = {}
    emb64 = np.asarray(train_emb, dtype=np.float64)
    for category in ("crisis", "emergency", "harmful"):
        idx = [i for i, e in enumerate(train) if e.label == category and e.subtype]
        names = [train[i].subtype or "" for i in idx]
        if len(set(names)) >= 2:
            subtypes[category] = _fit(emb64[idx], names, 4.0)

    identity = embedder.identity
    compatible = tuple(i for i in MINILM_IDENTITIES if i != identity)
    if identity not in MINILM_IDENTITIES:
        compatible = ()
    counts: dict[str, int] = {}
    for e in data.examples:
        key = f"{e.source}/{e.label}/{'held_out' if e.held_out else 'train'}"
        counts[key] = counts.get(key, 0) + 1
    training: dict[str, Any] = {
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scikit_learn": str(sklearn.__version__),
        "split_seed": SPLIT_SEED,
        "train_seed": TRAIN_SEED,
        "held_out_fraction": HELD_OUT_FRACTION,
        "medquad_sample": MEDQUAD_SAMPLE,
        "C": best_c,
        "tfidf_min_df": 2,
        "counts": dict(sorted(counts.items())),
        "data_hashes": data.hashes,
        "out_of_fold": oof_stats,
    }
    model = TriageModel(
        embedder_identity=identity,
        compatible_identities=compatible,
        tfidf=tfidf,
        tfidf_weight=TFIDF_WEIGHT,
        main=main,
        subtypes=subtypes,
        thresholds=thresholds,
        training=training,
    )
    triage = Triage(embedder, model)
    results = triage.classify_many([e.text for e in held], embeddings=held_emb)
    held_metrics = triage_metrics(held, [r.category.value for r in results])
    training["held_out"] = {
        "per_class": held_metrics["per_class"],
        "xstest_over_refusal": held_metrics["xstest_over_refusal"],
        "xstest_unsafe_refusal": held_metrics["xstest_unsafe_refusal"],
        "medsafetybench_refusal": held_metrics["medsafetybench_refusal"],
    }
    model.save(out_path)
    logger.info("triage classifier written to %s", out_path)
    return {
        "model_path": str(out_path),
        "C": best_c,
        "thresholds": thresholds.to_json(),
        "out_of_fold": oof_stats,
        "held_out": held_metrics,
    }
