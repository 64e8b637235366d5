"""Running Lumen's int8 ONNX encoders (embedder, reranker, verifier) on the CPU."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lumen.errors import ComponentError, MissingExtraError


def cpu_session(graph: Path, *, threads: int = 0, what: str = "ONNX graph") -> Any:
    """An onnxruntime session on the CPU for ``graph``, ``threads`` 0 meaning every core.

    Idle threads do not spin: llama.cpp's threads need the same cores right after. Raises
    :class:`MissingExtraError` without onnxruntime and :class:`ComponentError` when the graph
    cannot be loaded (``what`` names it in the message).
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", "embedded") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ComponentError(f"cannot load the {what} {graph}: {exc}") from exc


def pair_feeds(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
    """``input_ids`` / ``attention_mask`` / ``token_type_ids`` of tokenized text pairs."""
    return {
        "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
    }
