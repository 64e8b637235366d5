"""The dense-embedding interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def dim(self) -> int:
        """Vector size."""

    @property
    def identity(self) -> str:
        """Names the model and backend; an index built with one identity is queried with it."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages or queries: shape (len(texts), dim), rows of unit length."""
