"""Export the trained cross-encoder to an int8 ONNX graph with its tokenizer and manifest.

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns one logit
per pair. MatMuls and the embedding table (a Gather) are quantised per channel, which
keeps the folder small enough to ship. ``manifest.json`` lists each file's sha256; Lumen's
:class:`lumen.rag.rerank.Reranker` refuses a folder whose files do not match it.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from lumen.components import onnx_export
from lumen.components.model_files import file_sha256, minilm_dir
from lumen.rag.rerank import FORMAT, GRAPH, MANIFEST, TOKENIZER
from lumen_lab.rerank.model import CrossEncoder

logger = logging.getLogger(__name__)

_QUANTISED = ["MatMul", "Gather"]


def export_onnx(
    model: CrossEncoder, out_dir: Path, *, max_tokens: int, details: dict[str, Any]
) -> Path:
    """Write ``model-int8.onnx``, ``tokenizer.json`` and ``manifest.json`` into ``out_dir``."""
    onnx_export.export_int8(
        model,
        out_dir / GRAPH,
        output_name="logits",
        output_axes={0: "batch"},
        quantise=_QUANTISED,
        reduce_range=True,  # the same scores on CPUs with and without VNNI
    )
    shutil.copyfile(minilm_dir() / "tokenizer.json", out_dir / TOKENIZER)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "max_tokens": max_tokens,
        "files": {name: file_sha256(out_dir / name) for name in (GRAPH, TOKENIZER)},
        "training": details,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out_dir / GRAPH
