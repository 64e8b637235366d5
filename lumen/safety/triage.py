"""Input triage before retrieval and generation: crisis, emergency, harmful or ordinary.

Two layers decide together. Curated rules (:mod:`lumen.safety.rules`) catch clear crisis,
emergency and harmful phrasings and recognise safe contexts ("kill a Python process"); a
linear classifier over MiniLM embeddings and TF-IDF words (:mod:`lumen.safety.classifier`)
covers the rest. Crisis comes first, then emergency, then harmful. The classifier file is
required: without it, or with an embedder it was not trained for, :meth:`Triage.load`
raises :class:`~lumen.errors.ComponentError` so that the service refuses to answer rather
than answer unscreened.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from lumen.components.embedding.base import Embedder
from lumen.errors import ComponentError, InputError
from lumen.safety.classifier import CLASSES, Thresholds, TriageModel, default_model_path
from lumen.safety.rules import RuleReport, match_rules

logger = logging.getLogger(__name__)

__all__ = [
    "Triage",
    "TriageCategory",
    "TriageResult",
    "check_input",
    "decide",
]

CRISIS_OVER_EMERGENCY = 0.6
"""Classifier crisis probability needed to override an emergency rule."""

_VETO_HARMFUL_RULES = {"safe.fiction_or_game", "safe.historical", "safe.figurative"}


class TriageCategory(StrEnum):
    """Where a question goes: a crisis or emergency response, a refusal, or the pipeline."""

    CRISIS = "crisis"
    EMERGENCY = "emergency"
    HARMFUL = "harmful"
    ORDINARY = "ordinary"


@dataclass(frozen=True)
class TriageResult:
    """A triage decision.

    ``category`` and its ``subtype`` (e.g. ``overdose``, ``stroke``, ``privacy``), a
    confidence ``score`` in [0, 1] (1.0 when a rule decided) and the ``reasons`` (rule ids,
    safe contexts, classifier scores).
    """

    category: TriageCategory
    subtype: str | None
    score: float
    reasons: tuple[str, ...]

    @property
    def screened_out(self) -> bool:
        """True when the question must not go to retrieval and generation."""
        return self.category is not TriageCategory.ORDINARY


def check_input(text: object, max_chars: int) -> str:
    """Validate a question and return it cleaned (NFC, invisible format characters removed).

    Raises InputError for non-text, empty or whitespace-only input, binary or control
    character garbage, text without letters or digits, and text over ``max_chars``.
    Any language and any mix of scripts is accepted.
    """
    if isinstance(text, bytes):
        raise InputError("the question must be text, not bytes")
    if not isinstance(text, str):
        raise InputError("the question must be text")
    if "\x00" in text or "\ufffd" in text:
        raise InputError("the question contains binary data or undecodable characters")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
    if controls:
        raise InputError("the question contains control characters")
    if any(unicodedata.category(ch) in {"Cs", "Co"} for ch in text):
        raise InputError("the question contains invalid (surrogate or private-use) characters")
    # Zero-width joiners stay (emoji, Indic and Arabic scripts need them); other format
    # characters (bidi overrides, zero-width spaces) can hide text and are removed.
    cleaned = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d")
    cleaned = unicodedata.normalize("NFC", cleaned).strip()
    if not cleaned:
        raise InputError("the question is empty")
    if len(cleaned) > max_chars:
        raise InputError(
            f"the question is {len(cleaned)} characters long; the limit is {max_chars}"
        )
    if not any(unicodedata.category(ch)[0] in {"L", "N"} for ch in cleaned):
        raise InputError("the question contains no words")
    return cleaned


def decide(
    probs: Mapping[str, float], report: RuleReport, thresholds: Thresholds
) -> tuple[str, str | None, float, list[str]]:
    """Combine rule hits and classifier probabilities: (category, rule subtype, score, reasons).

    Crisis has priority, then emergency, then harmful. A safe context raises every
    classifier threshold by ``safe_margin`` (an informational question raises the crisis
    and emergency ones); a crisis rule always wins; an emergency rule
    yields to the classifier's crisis reading only above ``CRISIS_OVER_EMERGENCY``; a
    harmful rule yields to a fiction, game or historical context.
    """
    margin = thresholds.safe_margin if report.safe_contexts else 0.0
    # An informational question ("what are the signs of a stroke?") describes no situation.
    info_margin = max(margin, thresholds.safe_margin if report.informational else 0.0)
    reasons = [f"rule:{h.rule}" for h in report.hits]
    reasons += [f"context:{c}" for c in report.safe_contexts]
    reasons += [f"negated:{r}" for r in report.negated]
    crisis_hit = report.first("crisis")
    emergency_hit = report.first("emergency")
    harmful_hit = report.first("harmful")
    p_crisis = probs.get("crisis", 0.0)
    if crisis_hit is not None:
        return "crisis", crisis_hit.subtype, 1.0, reasons
    # A question after a preamble ("my wife got it, so how do you end up with it?") counts too.
    asks_margin = thresholds.safe_margin if report.asks_information else 0.0
    crisis_needed = thresholds.crisis + max(info_margin, asks_margin)
    if emergency_hit is not None:
        crisis_needed = max(crisis_needed, CRISIS_OVER_EMERGENCY)
    if p_crisis >= crisis_needed:
        return "crisis", None, p_crisis, [*reasons, f"classifier:crisis={p_crisis:.2f}"]
    if emergency_hit is not None:
        return "emergency", emergency_hit.subtype, 1.0, reasons
    p_emergency = probs.get("emergency", 0.0)
    if p_emergency >= thresholds.emergency + info_margin:
        return "emergency", None, p_emergency, [*reasons, f"classifier:emergency={p_emergency:.2f}"]
    if harmful_hit is not None and not _VETO_HARMFUL_RULES.intersection(report.safe_contexts):
        return "harmful", harmful_hit.subtype, 1.0, reasons
    p_harmful = probs.get("harmful", 0.0)
    if p_harmful >= thresholds.harmful + margin:
        return "harmful", None, p_harmful, [*reasons, f"classifier:harmful={p_harmful:.2f}"]
    return "ordinary", None, probs.get("ordinary", 1.0), reasons


class Triage:
    """Rules plus the shipped classifier; build it with :meth:`load`."""

    def __init__(self, embedder: Embedder, model: TriageModel) -> None:
        self._embedder = embedder
        self._model = model

    @classmethod
    def load(cls, embedder: Embedder, model_path: Path | None = None) -> Triage:
        """Load the classifier (default: the one shipped in the package) for ``embedder``.

        Fails closed: a missing or damaged file, or an embedder other than the one the
        classifier was trained with, raises ComponentError.
        """
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise ComponentError(
                f"the triage classifier file {path} is missing; questions cannot be screened, "
                "so none will be answered (retrain it with 'python -m lumen.safety train')"
            )
        model = TriageModel.load(path)
        identity = embedder.identity
        if not model.accepts(identity):
            raise ComponentError(
                f"the triage classifier was trained with the embedding model "
                f"{model.embedder_identity!r}, but {identity!r} is configured; retrain it "
                "with 'python -m lumen.safety train' or configure the original model"
            )
        if int(embedder.dim) != model.embedding_dim:
            raise ComponentError(
                f"the triage classifier expects {model.embedding_dim}-dimensional embeddings, "
                f"the embedder gives {embedder.dim}"
            )
        logger.info("triage classifier loaded from %s (embedder %s)", path, identity)
        return cls(embedder, model)

    @property
    def model(self) -> TriageModel:
        """The loaded classifier."""
        return self._model

    def probabilities(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> list[dict[str, str | float]]:
        """Classifier probabilities per text (embeddings are computed when not given)."""
        if embeddings is None:
            embeddings = self._embedder.embed(list(texts))
        probs = self._model.main.predict_proba(self._model.features(texts, embeddings))
        return [{c: float(p) for c, p in zip(CLASSES, row, strict=True)} for row in probs]

    def classify(self, text: str) -> TriageResult:
        """Triage one question."""
        return self.classify_many([text])[0]

    def classify_many(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> list[TriageResult]:
        """Triage several questions with one embedding batch."""
        texts = list(texts)
        if not texts:
            return []
        if embeddings is None:
            embeddings = self._embedder.embed(texts)
        embeddings = np.asarray(embeddings)
        probs = self._model.main.predict_proba(self._model.features(texts, embeddings))
        results: list[TriageResult] = []
        for i, text in enumerate(texts):
            row = {c: float(p) for c, p in zip(CLASSES, probs[i], strict=True)}
            report = match_rules(text)
            category, subtype, score, reasons = decide(row, report, self._model.thresholds)
            if category != "ordinary" and subtype is None:
                subtype = self._subtype(category, embeddings[i])
            if category == "crisis" and subtype != "overdose" and _mentions_overdose(report):
                subtype = "overdose"
            results.append(
                TriageResult(TriageCategory(category), subtype, round(score, 4), tuple(reasons))
            )
        logger.debug(
            "triaged %d question(s): %s", len(results), [r.category.value for r in results]
        )
        return results

    def _subtype(self, category: str, embedding: np.ndarray) -> str | None:
        model = self._model.subtypes.get(category)
        if model is None:
            return None
        probs = model.predict_proba(np.asarray(embedding, dtype=np.float64)[None, :])[0]
        return model.classes[int(np.argmax(probs))]


def _mentions_overdose(report: RuleReport) -> bool:
    return any(h.subtype in {"overdose", "poisoning"} for h in report.hits)
