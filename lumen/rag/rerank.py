"""A cross-encoder that reorders retrieved chunks by how well each answers the question.

The model reads ``question [SEP] passage`` and gives one relevance logit. It ships in the package
(``lumen/rag/model/reranker``: an int8 ONNX graph, its tokenizer and ``manifest.json`` with the
sha256 of each file); loading fails closed (:class:`~lumen.errors.ComponentError`) when a file
is missing or altered. Training lives in ``lumen_lab.rerank``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from lumen.components.model_files import file_sha256
from lumen.components.onnx_runtime import cpu_session, pair_feeds
from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "lumen-reranker"
GRAPH = "model-int8.onnx"
TOKENIZER = "tokenizer.json"


def default_model_dir() -> Path:
    """The reranker shipped in the package."""
    return Path(str(resources.files("lumen.rag") / "model" / "reranker"))


def read_manifest(model_dir: Path) -> dict[str, object]:
    """The manifest after checking every file it lists; ComponentError when anything is off."""
    path = model_dir / MANIFEST
    if not model_dir.is_dir():
        raise ComponentError(
            f"no reranker model at {model_dir}: train and install one ('lumen lab rerank', "
            "docs/reranking.md) or set retrieval.rerank to false"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ComponentError(f"the reranker's manifest {path} cannot be read: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("format") != FORMAT or not isinstance(files, dict) or GRAPH not in files:
        raise ComponentError(f"{path} is not a Lumen reranker manifest")
    for name, expected in sorted(files.items()):
        file = model_dir / name
        if not file.is_file():
            raise ComponentError(f"the reranker file {file} is missing")
        if file_sha256(file) != expected:
            raise ComponentError(f"the reranker file {file} does not match its manifest checksum")
    return dict(manifest)


class Reranker:
    """Scores (question, passage) pairs with the int8 ONNX cross-encoder."""

    def __init__(self, model_dir: Path | None = None, *, threads: int = 0) -> None:
        folder = model_dir or default_model_dir()
        manifest = read_manifest(folder)
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("onnxruntime", "embedded") from exc
        self._session = cpu_session(folder / GRAPH, threads=threads, what="reranker graph")
        self.max_tokens = int(str(manifest.get("max_tokens", 128)))
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self._tokenizer.enable_truncation(max_length=self.max_tokens, strategy="only_second")
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.manifest = manifest

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance logit per passage (higher: more relevant)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch([(question, p) for p in passages])
        feed = pair_feeds(encodings)
        logits = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return np.asarray(logits, dtype=np.float32).reshape(-1)
