"""Train the question-type model (:mod:`lumen.rag.qtypes`) on MedQuAD's own questions.

Each MedQuAD question carries its type (``qtype``: symptoms, treatment, outlook ...). Training
reads the pairs outside the held-out documents (the consumer dev split and the retrieval
benchmark's recall pairs, :func:`lumen_lab.retrieval.split.held_out`), each question twice:
as written, and with its condition replaced by "it", so that the model learns how a type is
asked rather than which conditions are asked about. A multinomial logistic regression
(scikit-learn, balanced classes, seeded) over the embedder's unit vectors; the held-out
documents' own questions give the accuracy reported with the model.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.errors import InputError, MissingExtraError
from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs
from lumen.rag.qtypes import QuestionTypes
from lumen.safety.classifier import LinearModel
from lumen_lab.retrieval.split import DEV_SHARE, held_out

logger = logging.getLogger(__name__)

SEED = 13
MIN_EXAMPLES = 20
"""A type with fewer training questions is left out (MedQuAD has one "support groups")."""


def masked(pair: QAPair) -> str | None:
    """The question with its condition replaced by "it"; None when it does not name it."""
    if not pair.focus:
        return None
    pattern = re.compile(re.escape(pair.focus), re.IGNORECASE)
    if not pattern.search(pair.question):
        return None
    return pattern.sub("it", pair.question, count=1)


def training_texts(pairs: list[QAPair]) -> tuple[list[str], list[str]]:
    """(texts, types): every question as written and masked, rare types left out."""
    counts = Counter(p.qtype for p in pairs)
    texts: list[str] = []
    types: list[str] = []
    for pair in pairs:
        if counts[pair.qtype] < MIN_EXAMPLES:
            continue
        for text in (pair.question, masked(pair)):
            if text:
                texts.append(text)
                types.append(pair.qtype)
    return texts, types


def train_question_types(
    medquad_dir: Path,
    embedder: Embedder,
    out: Path,
    *,
    c: float = 1.0,
    share: float = DEV_SHARE,
    limit: int | None = None,
) -> dict[str, Any]:
    """Train, write the model to ``out``, return its figures (``limit``: first N pairs, tests)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise MissingExtraError("scikit-learn", "dev") from exc
    pairs = [p for p in iter_qa_pairs(medquad_dir) if p.question and p.qtype]
    if not pairs:
        raise InputError(f"no MedQuAD questions in {medquad_dir}")
    held = held_out(medquad_dir, share=share, pairs=pairs)
    train = [p for p in pairs if not held.excludes(p)][:limit]
    test = [p for p in pairs if held.excludes(p)]
    texts, types = training_texts(train)
    logger.info("question types: %d training texts from %d pairs", len(texts), len(train))
    vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
    fitted = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)
    fitted.fit(vectors, types)
    model = LinearModel(
        tuple(str(x) for x in fitted.classes_),
        np.asarray(fitted.coef_, dtype=np.float64),
        np.asarray(fitted.intercept_, dtype=np.float64),
    )
    known = [p for p in test if p.qtype in model.classes]
    accuracy = 0.0
    if known:
        probs = model.predict_proba(np.asarray(embedder.embed([p.question for p in known])))
        hits = [
            model.classes[int(i)] == p.qtype for i, p in zip(probs.argmax(1), known, strict=True)
        ]
        accuracy = sum(hits) / len(hits)
    training: dict[str, Any] = {
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": SEED,
        "C": c,
        "dev_share": share,
        "training_pairs": len(train),
        "training_texts": len(texts),
        "types": dict(sorted(Counter(types).items())),
        "held_out_questions": len(known),
        "held_out_accuracy": round(accuracy, 4),
    }
    QuestionTypes(model, embedder.identity, training).save(out)
    logger.info("question-type model written to %s", out)
    return training
