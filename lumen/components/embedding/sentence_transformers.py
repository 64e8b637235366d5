"""all-MiniLM-L6-v2 (or another sentence-transformers model) in PyTorch."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lumen.components.model_files import embedding_identity
from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """Batched, normalised embeddings from a local sentence-transformers folder."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32, threads: int = 0) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingExtraError("sentence-transformers", "embedded") from exc
        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(model_dir), device="cpu")
        except (OSError, ValueError) as exc:
            raise ComponentError(
                f"cannot load the embedding model from {model_dir}: {exc}"
            ) from exc
        self._batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        self._dim = int(dim) if dim else 384
        self._identity = embedding_identity(model_dir, self._dim)
        logger.info("loaded sentence-transformers model %s (dim %s)", model_dir, self._dim)

    @property
    def dim(self) -> int:
        """Vector size."""
        return self._dim

    @property
    def identity(self) -> str:
        """Model and backend."""
        return self._identity

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; rows are L2-normalised."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
