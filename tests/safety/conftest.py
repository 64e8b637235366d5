"""Fixtures of the safety tests: the shared data folder, the real embedder, the triage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lumen.components.embedding.base import Embedder
from lumen.errors import MissingExtraError


@pytest.fixture(scope="session")
def sources_dir() -> Path:
    """The shared datasets (LUMEN_PATHS__SOURCES_DIR, else ../shared/data); skip if absent."""
    env = os.environ.get("LUMEN_PATHS__SOURCES_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (path / "safety" / "xstest_prompts.csv").is_file():
        pytest.skip(f"the shared safety data is not under {path}")
    return path


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2 in PyTorch, loaded once per session."""
    pytest.importorskip("sentence_transformers")
    from lumen.components.embedding.sentence_transformers import SentenceTransformerEmbedder
    from lumen.components.model_files import minilm_dir

    try:
        model_dir = minilm_dir()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    return SentenceTransformerEmbedder(model_dir)


class CachingEmbedder:
    """The real embedder with a per-session cache, so repeated evaluations embed once."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._cache: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self._inner.dim

    @property
    def identity(self) -> str:
        return self._inner.identity

    def embed(self, texts: Any) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._inner.embed(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


@pytest.fixture(scope="session")
def triage(embedder: Embedder) -> Any:
    """The shipped triage classifier with the real embedder (cached per session).

    The cache makes the latency figures of these tests meaningless: the reported latency
    comes from ``python -m lumen.safety eval``, which embeds every question.
    """
    from lumen.safety.triage import Triage

    return Triage.load(CachingEmbedder(embedder))


@pytest.fixture(scope="session")
def safety_eval(sources_dir: Path, triage: Any) -> dict[str, Any]:
    """One run of the safety evaluation on the held-out split, shared by the tests."""
    from lumen_lab.safety.evaluate import run_safety_eval

    return run_safety_eval(sources_dir, triage, latency_samples=40)


class FakeEmbedder:
    """An embedder with a chosen identity that returns unit vectors (no model)."""

    def __init__(self, identity: str, dim: int = 384) -> None:
        self._identity = identity
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def identity(self) -> str:
        return self._identity

    def embed(self, texts: Any) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


@pytest.fixture
def fake_embedder() -> type[FakeEmbedder]:
    """The FakeEmbedder class (identity and dimension chosen per test)."""
    return FakeEmbedder
