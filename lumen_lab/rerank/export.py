"""Export the trained cross-encoder to an int8 ONNX graph with its tokenizer and manifest.

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns one logit
per pair. MatMuls are quantised per channel and the embedding table (a Gather) per tensor, which
keeps the folder small enough to ship. ``manifest.json`` lists each file's sha256; Lumen's
:class:`lumen.rag.rerank.Reranker` refuses a folder whose files do not match it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from lumen.components.model_files import file_sha256, minilm_dir
from lumen.rag.rerank import FORMAT, GRAPH, MANIFEST, TOKENIZER
from lumen_lab.rerank.model import CrossEncoder

logger = logging.getLogger(__name__)

_OPSET = 17
_QUANTISED = ["MatMul", "Gather"]


def export_onnx(
    model: CrossEncoder, out_dir: Path, *, max_tokens: int, details: dict[str, Any]
) -> Path:
    """Write ``model-int8.onnx``, ``tokenizer.json`` and ``manifest.json`` into ``out_dir``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model-fp32.onnx"
    dummy = torch.ones((2, 8), dtype=torch.long)
    model = model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy, dummy, torch.zeros_like(dummy)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=_OPSET,
            dynamo=False,
        )
    root_logger = logging.getLogger()
    previous = root_logger.level
    root_logger.setLevel(logging.ERROR)  # the quantiser logs advice meant for image models
    partial = out_dir / (GRAPH + ".partial")
    try:
        quantize_dynamic(
            str(fp32),
            str(partial),
            per_channel=True,
            op_types_to_quantize=_QUANTISED,
            weight_type=QuantType.QInt8,
        )
    finally:
        root_logger.setLevel(previous)
    os.replace(partial, out_dir / GRAPH)
    fp32.unlink(missing_ok=True)
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
